' 8812345.vbs - inert regression sample after catalogue section 7
WScript.Echo "TRIAGE-REGRESSION"

Function NeverCalled()
    Dim urls, x, s
    urls = Array("http://a.example.invalid/87abcXYZ", "http://b.example.invalid/87abcXYZ", _
        "http://c.example.invalid/87abcXYZ", "http://d.example.invalid/87abcXYZ", "http://e.example.invalid/87abcXYZ")
    Set x = CreateObject("MSXML2.XMLHTTP")
    Set s = CreateObject("ADODB.Stream")
End Function
