Attribute VB_Name = "KpiRibbon"
' Ribbon callbacks and macros of the kpitree add-in.
'
' Each button runs one macro (also runnable with Alt+F8 or Application.Run), and
' each macro runs one function of the Python module kpitree.addin.actions through
' xlwings' RunPython. The Python side catches every error, writes the traceback to
' its log file and shows one message box; this side only checks that the add-in's
' settings exist before starting Python. Texts come from KpiLabel (module KpiLabels,
' generated at build time from kpitree/addin/labels.py).
Option Explicit

Private KpiRibbonUI As IRibbonUI

Public Sub KpiRibbon_OnLoad(ribbon As IRibbonUI)
    Set KpiRibbonUI = ribbon
End Sub

Public Sub KpiRibbon_GetLabel(control As IRibbonControl, ByRef returnedVal)
    returnedVal = KpiLabel(control.Id)
End Sub

Public Sub KpiRibbon_GetScreentip(control As IRibbonControl, ByRef returnedVal)
    returnedVal = KpiLabel(control.Id & ".tip")
End Sub

Public Sub KpiRibbon_RebuildDashboard(control As IRibbonControl)
    KpiRebuildDashboard
End Sub

Public Sub KpiRibbon_BackCalculate(control As IRibbonControl)
    KpiBackCalculate
End Sub

Public Sub KpiRibbon_RecommendStage(control As IRibbonControl)
    KpiRecommendStage
End Sub

Public Sub KpiRibbon_CheckDesign(control As IRibbonControl)
    KpiCheckDesign
End Sub

Public Sub KpiRibbon_WeeklyReview(control As IRibbonControl)
    KpiWeeklyReview
End Sub

Public Sub KpiRibbon_MonthlyReview(control As IRibbonControl)
    KpiMonthlyReview
End Sub

Public Sub KpiRibbon_BatchRecalc(control As IRibbonControl)
    KpiBatchRecalc
End Sub

Public Sub KpiRibbon_NewWorkbookJa(control As IRibbonControl)
    KpiNewWorkbookJa
End Sub

Public Sub KpiRibbon_NewWorkbookEn(control As IRibbonControl)
    KpiNewWorkbookEn
End Sub

Public Sub KpiRibbon_ShareCopy(control As IRibbonControl)
    KpiShareCopy
End Sub

Public Sub KpiRibbon_Relink(control As IRibbonControl)
    KpiRelinkActive
End Sub

Public Sub KpiRibbon_About(control As IRibbonControl)
    KpiAbout
End Sub

' --- macros ---------------------------------------------------------------------

Public Sub KpiRebuildDashboard()
    KpiRun "rebuild_dashboard()", True
End Sub

Public Sub KpiBackCalculate()
    KpiRun "back_calculate_plan()", True
End Sub

Public Sub KpiRecommendStage()
    KpiRun "recommend_stage_kpis()", True
End Sub

Public Sub KpiCheckDesign()
    KpiRun "check_kpi_design()", True
End Sub

Public Sub KpiWeeklyReview()
    KpiRun "weekly_review()", True
End Sub

Public Sub KpiMonthlyReview()
    KpiRun "monthly_review()", True
End Sub

Public Sub KpiBatchRecalc()
    Dim folder As String
    folder = KpiPickFolder()
    If folder = "" Then Exit Sub
    KpiRun "batch_recalculate(" & KpiPyString(folder) & ")", False
End Sub

Public Sub KpiNewWorkbookJa()
    KpiRun "new_workbook('ja')", False
End Sub

Public Sub KpiNewWorkbookEn()
    KpiRun "new_workbook('en')", False
End Sub

Public Sub KpiShareCopy()
    KpiRun "share_copy()", True
End Sub

Public Sub KpiAbout()
    ' Pure VBA, so it works even when Python is not set up.
    Dim text As String
    On Error GoTo failed
    text = "kpitree " & KPITREE_VERSION & " (xlwings " & XLWINGS_VERSION & ")" & vbCrLf & vbCrLf
    text = text & KpiLabel("msg.config") & ": " & GetConfigFilePath() & vbCrLf
    text = text & KpiLabel("msg.log") & ": " & KpiLogFilePath() & vbCrLf
    text = text & "README: " & KPITREE_README_URL & vbCrLf & vbCrLf
    text = text & KpiLabel("msg.openReadme")
    If MsgBox(text, vbInformation + vbYesNo, "kpitree") = vbYes Then
        ThisWorkbook.FollowHyperlink KPITREE_README_URL
    End If
    Exit Sub
failed:
    MsgBox "kpitree " & KPITREE_VERSION & vbCrLf & Err.Description, vbExclamation, "kpitree"
End Sub

' --- helpers --------------------------------------------------------------------

Public Function KpiLogFilePath() As String
    ' The Python side writes tracebacks here (kpitree.addin.actions.log_file_path).
    #If Mac Then
        KpiLogFilePath = GetMacDir("$HOME", True) & ".kpitree/addin.log"
    #Else
        KpiLogFilePath = Environ("USERPROFILE") & "\.kpitree\addin.log"
    #End If
End Function

Private Sub KpiRun(ByVal pyCall As String, ByVal needsWorkbook As Boolean)
    Dim interpreter As String
    On Error GoTo failed
    If ActiveWorkbook Is Nothing Then
        If needsWorkbook Then
            MsgBox KpiLabel("msg.noWorkbook"), vbExclamation, "kpitree"
            Exit Sub
        End If
        Workbooks.Add  ' xlwings' RunPython needs an active workbook to call from
    End If
    #If Mac Then
        interpreter = GetConfig("INTERPRETER_MAC", "")
    #Else
        interpreter = GetConfig("INTERPRETER_WIN", "")
    #End If
    If interpreter = "" Then
        MsgBox KpiLabel("msg.notInstalled"), vbExclamation, "kpitree"
        Exit Sub
    End If
    #If Not Mac Then
        If Not FileExists(interpreter) Then
            MsgBox KpiLabel("msg.noInterpreter") & vbCrLf & interpreter, vbExclamation, "kpitree"
            Exit Sub
        End If
    #End If
    RunPython "import kpitree.addin.actions as k; k." & pyCall
    Exit Sub
failed:
    MsgBox KpiLabel("msg.failed") & vbCrLf & vbCrLf & Err.Description, vbExclamation, "kpitree"
End Sub

Private Function KpiPickFolder() As String
    ' The folder the user picks, or "" when cancelled.
    On Error GoTo failed
    With Application.FileDialog(4)  ' msoFileDialogFolderPicker
        .Title = KpiLabel("msg.pickFolder")
        .AllowMultiSelect = False
        If .Show = -1 Then KpiPickFolder = .SelectedItems(1)
    End With
    Exit Function
failed:
    MsgBox KpiLabel("msg.failed") & vbCrLf & vbCrLf & Err.Description, vbExclamation, "kpitree"
    KpiPickFolder = ""
End Function

Private Function KpiPyString(ByVal s As String) As String
    ' A Python string literal of s that is plain ASCII: every character other than a
    ' letter or digit becomes \uXXXX, so quotes, backslashes and Japanese folder names
    ' survive cmd.exe and AppleScript unchanged.
    Dim i As Long, c As Long, out As String
    out = "'"
    For i = 1 To Len(s)
        c = AscW(Mid$(s, i, 1)) And &HFFFF&
        If (c >= 48 And c <= 57) Or (c >= 65 And c <= 90) Or (c >= 97 And c <= 122) Then
            out = out & ChrW(c)
        Else
            out = out & "\u" & Right$("000" & Hex$(c), 4)
        End If
    Next i
    KpiPyString = out & "'"
End Function
