// Script-in-archive spam (Locky/FakeGlobe §7, Avaddon §13) and PowerShell payloads (§1, §14).

rule Script_Downloader_XMLHTTP_Stream
{
    meta:
        description = "Windows Script Host downloader: an HTTP object plus ADODB.Stream/SaveToFile plus a run primitive"
        campaign = "locky"
        severity = "high"
        attack = "T1059.005, T1059.007, T1105"
        reference = "https://blog.dynamoo.com/search?max-results=20&reverse-paginate=true&updated-max=2017-09-21T09%3A51%3A00%2B01%3A00"
        author = "triage"
        date = "2026-11-22"
    strings:
        $http1 = "MSXML2.XMLHTTP" nocase
        $http2 = "Microsoft.XMLHTTP" nocase
        $http3 = "WinHttp.WinHttpRequest" nocase
        $http4 = "ServerXMLHTTP" nocase
        $st1 = "ADODB.Stream" nocase
        $st2 = "SaveToFile" nocase
        $run1 = "WScript.Shell" nocase
        $run2 = "ShellExecute" nocase
        $run3 = ".Run(" nocase
        $run4 = ".Run " nocase
    condition:
        (filetype == "js" or filetype == "vbs" or filetype == "wsf" or filetype == "hta") and
        any of ($http*) and any of ($st*) and any of ($run*)
}

rule Script_Image_Double_Extension
{
    meta:
        description = "Script named as an image or document (IMG123101.jpg.js): the Avaddon/Phorpiex lure"
        campaign = "avaddon"
        severity = "high"
        attack = "T1036.007, T1059.007"
        reference = "https://www.arctitan.com/blog/phorpiex-botnet-activity-surges-with-large-scale-avaddon-ransomware-campaign/"
        author = "triage"
        date = "2026-11-22"
    condition:
        (extension == "js" or extension == "jse" or extension == "vbs" or extension == "vbe" or
         extension == "wsf" or extension == "hta") and
        filename matches /\.(jpe?g|png|gif|bmp|pdf|docx?|xlsx?|txt)\s*\.(js|jse|vbs|vbe|wsf|hta)$/i
}

rule PowerShell_Download_Execute
{
    meta:
        description = "PowerShell that downloads and runs code (Net.WebClient/Invoke-WebRequest with IEX/Start-Process)"
        campaign = "emotet"
        severity = "high"
        attack = "T1059.001, T1105"
        reference = "https://www.cert.europa.eu/publications/security-advisories/2019-021/"
        author = "triage"
        date = "2026-11-22"
    strings:
        $dl1 = "Net.WebClient" nocase
        $dl2 = "DownloadString" nocase
        $dl3 = "DownloadFile" nocase
        $dl4 = "Invoke-WebRequest" nocase
        $dl5 = "Start-BitsTransfer" nocase
        $x1 = "IEX" fullword nocase
        $x2 = "Invoke-Expression" nocase
        $x3 = "Start-Process" nocase
        $x4 = "DownloadString(" nocase
    condition:
        filetype == "ps1" and any of ($dl*) and any of ($x*)
}

rule PowerShell_Reflective_Load
{
    meta:
        description = "PowerShell loading code in memory: Assembly::Load or Add-Type with VirtualAlloc/WriteProcessMemory/CreateRemoteThread"
        campaign = "netwalker"
        severity = "critical"
        attack = "T1620, T1055, T1059.001"
        reference = "https://www.trendmicro.com/vinfo/us/threat-encyclopedia/malware/Ransom.PS1.NETWALKER.M"
        author = "triage"
        date = "2026-11-22"
    strings:
        $load = /\[(System\.)?Reflection\.Assembly\]::Load(File)?\s*\(/ nocase
        $addtype = /(^|[\r\n;|]\s*)Add-Type\s+(-TypeDefinition\s+)?\$/ nocase
        $va = "VirtualAlloc" nocase
        $wpm = "WriteProcessMemory" nocase
        $crt = "CreateRemoteThread" nocase
    condition:
        filetype == "ps1" and ($load or ($addtype and any of ($va, $wpm, $crt)))
}
