"""Reading and writing workbook packages: safe zip/XML reading (:mod:`.package`), the layout
reader that reads files of a known layout by their values alone (:mod:`.layout`), and the
write-back that patches only cached values (:mod:`.writeback`)."""
