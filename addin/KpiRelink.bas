Attribute VB_Name = "KpiRelink"
' Self-healing KPI links: the VBA mirror of kpitree.addin.relink, whose decision logic is
' tested in Python (tests/test_addin_relink.py); each function here names its Python twin.
'
' A workbook saved on another machine calls the KPI_* functions through a link to the
' kpitree.xlam at that machine's path; one saved where the add-in was not loaded stores
' _xludf.KPI_... or a bare KPI_... name that shows #NAME?. KpiRelinkBook points those links
' at this add-in, enters those formulas again so they bind, and recalculates the workbook.
' It never saves, and it touches only workbooks that carry kpitree's named cells, a link to
' a kpitree.xlam or a KPI_ call. The constants KPI_ADDIN_FILE, KPI_FUNCTION_PREFIX,
' KPI_XLUDF_PREFIX and KPI_MARK_NAMES are generated from relink.py (module KpiLabels).
Option Explicit

Private Const XL_EXCEL_LINKS As Long = 1            ' xlExcelLinks, xlLinkTypeExcelLinks
Private Const XL_CELL_TYPE_FORMULAS As Long = -4123 ' xlCellTypeFormulas
Private Const XL_FORMULAS As Long = -4123           ' xlFormulas (Find's LookIn)
Private Const XL_PART As Long = 2                   ' xlPart
Private Const XL_ERR_NAME As Long = 2029             ' xlErrName: #NAME?

Public Sub KpiRelinkOpenBooks()
    ' When the add-in loads: the workbooks Excel opened before it.
    Dim wb As Workbook
    For Each wb In Application.Workbooks
        KpiRelinkBook wb, False
    Next wb
End Sub

Public Sub KpiRelinkActive()
    ' The ribbon's button: the same as on open, for the active workbook, with a report.
    If ActiveWorkbook Is Nothing Then
        MsgBox KpiLabel("msg.noWorkbook"), vbExclamation, "kpitree"
        Exit Sub
    End If
    KpiRelinkBook ActiveWorkbook, True
End Sub

Public Sub KpiRelinkBook(ByVal wb As Workbook, ByVal tell As Boolean)
    ' relink.plan_relink, applied: links first (a call through a link follows it), then formulas.
    Dim links As Long, formulas As Long, ws As Worksheet
    On Error GoTo failed
    If wb Is ThisWorkbook Then Exit Sub
    If wb.IsAddin Then Exit Sub
    If Not KpiIsKpitreeBook(wb) Then
        If tell Then MsgBox KpiLabel("msg.relinkNotKpitree"), vbInformation, "kpitree"
        Exit Sub
    End If
    links = KpiRelinkLinks(wb)
    formulas = KpiRelinkFormulas(wb)
    If links + formulas > 0 Then
        For Each ws In wb.Worksheets
            ws.Calculate
        Next ws
    End If
    If tell Then
        If links + formulas = 0 Then
            MsgBox KpiLabel("msg.relinkNothing"), vbInformation, "kpitree"
        Else
            MsgBox Replace(Replace(KpiLabel("msg.relinked"), "{links}", CStr(links)), "{formulas}", CStr(formulas)), _
                   vbInformation, "kpitree"
        End If
    End If
    Exit Sub
failed:
    If tell Then MsgBox KpiLabel("msg.failed") & vbCrLf & vbCrLf & Err.Description, vbExclamation, "kpitree"
End Sub

Public Function KpiIsAddinLink(ByVal link As String) As Boolean
    ' relink.is_addin_link: the link's file is kpitree.xlam, in any folder and any case.
    Dim path As String
    path = Replace(Replace(link, "/", "\"), ":", "\")
    KpiIsAddinLink = (StrComp(Mid$(path, InStrRev(path, "\") + 1), KPI_ADDIN_FILE, vbTextCompare) = 0)
End Function

Public Function KpiIsKpitreeBook(ByVal wb As Workbook) As Boolean
    ' relink.is_kpitree_book: one of kpitree's named cells, a link to a kpitree.xlam, or a KPI_ in a formula.
    Dim n As Name, bare As String, links As Variant, link As Variant, ws As Worksheet, found As Range
    On Error Resume Next
    For Each n In wb.Names
        bare = Mid$(n.Name, InStrRev(n.Name, "!") + 1)
        If InStr(1, "," & KPI_MARK_NAMES & ",", "," & bare & ",", vbTextCompare) > 0 Then
            KpiIsKpitreeBook = True
            Exit Function
        End If
    Next n
    links = Empty
    links = wb.LinkSources(XL_EXCEL_LINKS)
    If Not IsEmpty(links) Then
        For Each link In links
            If KpiIsAddinLink(CStr(link)) Then
                KpiIsKpitreeBook = True
                Exit Function
            End If
        Next link
    End If
    For Each ws In wb.Worksheets
        Set found = Nothing
        Set found = ws.UsedRange.Find(KPI_FUNCTION_PREFIX, LookIn:=XL_FORMULAS, LookAt:=XL_PART, MatchCase:=False)
        If Not found Is Nothing Then
            KpiIsKpitreeBook = True
            Exit Function
        End If
    Next ws
End Function

Public Function KpiRelinkedFormula(ByVal formula As String, ByVal showsNameError As Boolean) As String
    ' relink.relinked_formula: the formula to enter again, "" to leave the cell.
    If InStr(1, formula, KPI_FUNCTION_PREFIX, vbTextCompare) = 0 Then Exit Function
    If InStr(1, formula, "!" & KPI_FUNCTION_PREFIX, vbTextCompare) > 0 Then Exit Function
    If InStr(1, formula, KPI_XLUDF_PREFIX & KPI_FUNCTION_PREFIX, vbTextCompare) > 0 Then
        KpiRelinkedFormula = Replace(formula, KPI_XLUDF_PREFIX & KPI_FUNCTION_PREFIX, KPI_FUNCTION_PREFIX, , , vbTextCompare)
    ElseIf showsNameError Then
        KpiRelinkedFormula = formula
    End If
End Function

Private Function KpiRelinkLinks(ByVal wb As Workbook) As Long
    ' relink.plan_relink's links: each link to a kpitree.xlam at another path, pointed at this add-in.
    Dim links As Variant, link As Variant
    links = wb.LinkSources(XL_EXCEL_LINKS)
    If IsEmpty(links) Then Exit Function
    For Each link In links
        If KpiIsAddinLink(CStr(link)) And StrComp(CStr(link), ThisWorkbook.FullName, vbTextCompare) <> 0 Then
            wb.ChangeLink CStr(link), ThisWorkbook.FullName, XL_EXCEL_LINKS
            KpiRelinkLinks = KpiRelinkLinks + 1
        End If
    Next link
End Function

Private Function KpiRelinkFormulas(ByVal wb As Workbook) As Long
    ' relink.plan_relink's formulas: every formula cell KpiRelinkedFormula gives a text for, entered again.
    Dim ws As Worksheet, formulaCells As Range, cell As Range, fixed As String
    For Each ws In wb.Worksheets
        Set formulaCells = Nothing
        On Error Resume Next
        Set formulaCells = ws.UsedRange.SpecialCells(XL_CELL_TYPE_FORMULAS)
        On Error GoTo 0
        If Not formulaCells Is Nothing Then
            For Each cell In formulaCells
                fixed = KpiRelinkedFormula(KpiFormulaOf(cell), KpiShowsNameError(cell))
                If fixed <> "" Then
                    If cell.HasArray Then  ' a legacy array formula: entered once, over its whole range
                        If cell.Address = cell.CurrentArray.Cells(1, 1).Address Then
                            cell.CurrentArray.FormulaArray = fixed
                            KpiRelinkFormulas = KpiRelinkFormulas + 1
                        End If
                    Else
                        KpiSetFormula cell, fixed
                        KpiRelinkFormulas = KpiRelinkFormulas + 1
                    End If
                End If
            Next cell
        End If
    Next ws
End Function

Private Function KpiShowsNameError(ByVal cell As Range) As Boolean
    Dim shown As Variant
    shown = cell.Value
    If IsError(shown) Then KpiShowsNameError = (shown = CVErr(XL_ERR_NAME))
End Function

Private Function KpiFormulaOf(ByVal cell As Object) As String
    ' Formula2 (Excel 365: a spilling call as typed) where Excel has it, Formula otherwise.
    On Error Resume Next
    KpiFormulaOf = cell.Formula
    KpiFormulaOf = cell.Formula2
End Function

Private Sub KpiSetFormula(ByVal cell As Object, ByVal formula As String)
    On Error Resume Next
    cell.Formula2 = formula
    If Err.Number <> 0 Then
        Err.Clear
        On Error GoTo 0
        cell.Formula = formula
    End If
End Sub
