// LNK shortcuts that start a LOLBin with a hidden, encoded command: CAMPAIGNS.md §15.

rule LNK_PowerShell_Hidden_Encoded
{
    meta:
        description = "Shortcut command line runs PowerShell hidden and/or with an encoded or downloaded command"
        campaign = "lnk"
        severity = "high"
        attack = "T1204.002, T1059.001, T1027"
        reference = "https://onebe.co.jp/dlpnews/?p=2793"
        author = "triage"
        date = "2026-11-22"
    strings:
        $ps = "powershell" nocase
        $h1 = /-w(indowstyle)?\s+h(idden)?\b/ nocase
        $e1 = /\s-e(n|nc|nco|ncod|ncode|ncoded|ncodedc|ncodedcommand)?\s+[A-Za-z0-9+\/=]{16,}/ nocase
        $d1 = "DownloadString" nocase
        $d2 = "FromBase64String" nocase
        $d3 = "IEX" fullword
    condition:
        (parent_type == "lnk" or filetype == "lnk") and $ps and any of ($h1, $e1, $d*)
}

rule LNK_Document_Masquerade
{
    meta:
        description = "Shortcut named like a document (.pdf.lnk, .docx.lnk) — the user thinks they open a document"
        campaign = "lnk"
        severity = "high"
        attack = "T1036.007, T1204.002"
        reference = "https://attack.mitre.org/techniques/T1036/007/"
        author = "triage"
        date = "2026-11-22"
    condition:
        filetype == "lnk" and extension == "lnk" and
        filename matches /\.(pdf|docx?|xlsx?|pptx?|rtf|txt|jpe?g|png)\s*\.lnk$/i
}
