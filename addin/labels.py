"""Every text the add-in's VBA shows: ribbon labels, screentips and message boxes.

Keys are ribbon control ids (``kpiTab``, ``kpiRebuildDashboard``, ...), a control id
plus ``.tip`` for its screentip, or ``msg.*`` for a message box. The build turns
this table into the generated ``KpiLabels`` VBA module, with Japanese text built
from ``ChrW()`` so the VBA source stays ASCII; ``KpiLabel(key)`` answers in Japanese
when Excel's UI language is Japanese (LanguageID 1041) and in English otherwise.
"""

from __future__ import annotations

JAPANESE_LANGUAGE_ID = 1041

LABELS: dict[str, tuple[str, str]] = {
    # ribbon: tab and groups
    "kpiTab": ("KPI設計", "KPI Design"),
    "kpiDesignGroup": ("設計", "Design"),
    "kpiDataGroup": ("データ", "Data"),
    "kpiHelpGroup": ("ヘルプ", "Help"),
    # ribbon: buttons and their screentips
    "kpiRebuildDashboard": ("ダッシュボード再構築", "Rebuild dashboard"),
    "kpiRebuildDashboard.tip": (
        "シート4のKPIダッシュボードを作り直します。",
        "Rebuilds the KPI dashboard on sheet 4.",
    ),
    "kpiBackCalculate": ("逆算プラン", "Back-calculate plan"),
    "kpiBackCalculate.tip": (
        "KGIから月間・週間・1日の目標を逆算してシート2・3に記入します。",
        "Fills monthly, weekly and daily targets on sheets 2-3 from the KGI inputs.",
    ),
    "kpiRecommendStage": ("段階別KPI提案", "Recommend KPIs for stage"),
    "kpiRecommendStage.tip": (
        "チームの段階の推奨KPIを表示し、重点外のKPIに印を付けます。",
        "Shows the stage's recommended KPIs and marks the KPIs outside its focus.",
    ),
    "kpiCheckDesign": ("KPI設計チェック", "Check KPI design"),
    "kpiCheckDesign.tip": (
        "階層ごとの数、目標・単位の漏れ、目安との比較をレポートシートに書きます。",
        "Counts per tier, missing targets or units and benchmark comparison, on a report sheet.",
    ),
    "kpiBatchRecalc": ("一括再計算", "Batch recalculation"),
    "kpiBatchRecalc.tip": (
        "フォルダー内のブックを再計算し、集計ブックを開きます。",
        "Recalculates the workbooks of a folder and opens the summary workbook.",
    ),
    "kpiNewWorkbook": ("新規ブック", "New workbook"),
    "kpiNewWorkbook.tip": (
        "テンプレートから新しいKPI設計ブックを作ります。",
        "Creates a new KPI design workbook from the template.",
    ),
    "kpiNewWorkbookJa": ("日本語テンプレート", "Japanese template"),
    "kpiNewWorkbookEn": ("英語テンプレート", "English template"),
    "kpiAbout": ("ヘルプ", "About"),
    "kpiAbout.tip": (
        "バージョン、ログファイルの場所、READMEへのリンク。",
        "Version, where the log file is, link to the README.",
    ),
    # message boxes
    "msg.noWorkbook": (
        "KPI設計ブックを開いてから実行してください。",
        "Open a KPI design workbook first.",
    ),
    "msg.notInstalled": (
        "kpitreeの設定が見つかりません。コマンドプロンプトで「kpitree addin install」を実行してから、Excelを再起動してください。",
        "The kpitree settings were not found. Run \"kpitree addin install\" in a terminal, then restart Excel.",
    ),
    "msg.noInterpreter": (
        "設定にあるPythonが見つかりません。「kpitree addin install」をもう一度実行してください:",
        "The Python named in the settings was not found. Run \"kpitree addin install\" again:",
    ),
    "msg.failed": (
        "処理を実行できませんでした。「kpitree addin status」で設定を確認してください。",
        "The action could not run. Check the setup with \"kpitree addin status\".",
    ),
    "msg.pickFolder": ("再計算するブックのフォルダーを選んでください", "Pick the folder of workbooks to recalculate"),
    "msg.version": ("バージョン", "Version"),
    "msg.config": ("設定ファイル", "Settings file"),
    "msg.log": ("ログファイル", "Log file"),
    "msg.openReadme": ("READMEを開きますか?", "Open the README?"),
}


def label(key: str, lang: str) -> str:
    ja, en = LABELS[key]
    return ja if lang == "ja" else en
