// IQY (Excel Web Query) files mailed to Japanese users: CAMPAIGNS.md §5.

rule IQY_WebQuery_File
{
    meta:
        description = "Excel Web Query (.iqy) file: line 1 WEB, line 2 1, then a URL; Excel fetches and renders the URL's content"
        campaign = "iqy"
        severity = "medium"
        attack = "T1566.001, T1204.002"
        reference = "https://inquest.net/blog/2018/08/23/hunting-iqy-files-with-yara"
        author = "triage"
        date = "2026-11-22"
    strings:
        $web = /^\s{0,16}WEB\r?\n1\r?\n(https?|ftp):\/\// nocase
    condition:
        filetype == "iqy" or (filetype == "text" and ($web at 0 or ($web in (0..20) and filesize < 4096)))
}

rule IQY_Remote_Payload_URL
{
    meta:
        description = "IQY query URL is a bare IP address or points at an executable, script or archive"
        campaign = "iqy"
        severity = "high"
        attack = "T1105, T1204.002"
        reference = "https://trendmicro.com/en_gb/research/18/h/iqy-and-powershell-abused-by-spam-campaign-to-infect-users-in-japan-with-bebloh-and-ursnif.html"
        author = "triage"
        date = "2026-11-22"
    strings:
        $ip = /\n(https?|ftp):\/\/\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}[:\/]/ nocase
        $ext = /\n(https?|ftp):\/\/[^\r\n]{1,400}\.(exe|ps1|hta|vbs|dat|zip|js|dll|scr)(\?[^\r\n]*)?\r?\n/ nocase
    condition:
        filetype == "iqy" and any of them
}

rule IQY_DDE_Formula
{
    meta:
        description = "Web-query content carrying an Excel DDE formula that starts cmd/powershell/mshta (what an IQY's URL returned in the 2018 wave): an execution primitive, malicious on its own"
        campaign = "iqy"
        severity = "critical"
        attack = "T1559.002, T1059.001"
        reference = "https://trendmicro.com/en_gb/research/18/h/iqy-and-powershell-abused-by-spam-campaign-to-infect-users-in-japan-with-bebloh-and-ursnif.html"
        author = "triage"
        date = "2026-11-22"
    strings:
        $dde = /=\s{0,4}(cmd|powershell|mshta|msexcel)\s{0,4}\|\s{0,4}'[^']{1,500}'\s{0,4}!/ nocase
    condition:
        // Sheet content served as text: CSV, HTML tables, SpreadsheetML, SYLK.
        (filetype == "text" or filetype == "html" or filetype == "xml" or filetype == "iqy" or
         filetype == "slk" or filetype == "binary") and $dde
}
