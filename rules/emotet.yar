// Emotet macro documents: CAMPAIGNS.md §1–3 (VBA → WMI → powershell -enc).
// These rules run on VBA module sources (filetype "vba"), on the folded text
// the VBA analyser derives from them (parent_type "vba"), and on UserForm
// and document-property strings (derived text of an "ole" artifact).

rule VBA_AutoExec_WMI_Process
{
    meta:
        description = "VBA macro with an auto-exec entry point that starts a process through WMI (winmgmts / Win32_Process.Create)"
        campaign = "emotet"
        severity = "critical"
        attack = "T1204.002, T1047, T1059.005"
        reference = "https://www.cert.europa.eu/publications/security-advisories/2019-021/"
        author = "triage"
        date = "2026-11-22"
    strings:
        $a1 = "Document_Open" nocase
        $a2 = "AutoOpen" nocase
        $a3 = "Auto_Open" nocase
        $a4 = "Workbook_Open" nocase
        $a5 = "Document_Close" nocase
        $w1 = "winmgmts" nocase
        $w2 = "Win32_Process" nocase
        $w3 = "Win32_ProcessStartup" nocase
    condition:
        filetype == "vba" and any of ($a*) and any of ($w*)
}

rule VBA_PowerShell_EncodedCommand
{
    meta:
        description = "Macro source, its folded strings or its form strings build 'powershell -enc <base64>'"
        campaign = "emotet"
        severity = "high"
        attack = "T1059.001, T1027"
        reference = "https://www.cert.europa.eu/publications/security-advisories/2019-021/"
        author = "triage"
        date = "2026-11-22"
    strings:
        $ps = "powershell" nocase
        $enc = /-e(n|nc|nco|ncod|ncode|ncoded|ncodedcommand)?\s{1,8}[A-Za-z0-9+\/]{20,}/ nocase
    condition:
        (filetype == "vba" or parent_type == "vba" or parent_type == "ole") and $ps and $enc
}

rule VBA_Chr_Obfuscation
{
    meta:
        description = "Macro that builds strings from many Chr()/ChrW() calls (string obfuscation)"
        campaign = "emotet"
        severity = "low"
        attack = "T1027"
        reference = "https://blog.malwarebytes.com/threat-analysis/2018/05/malware-analysis-decoding-emotet-part-1/"
        author = "triage"
        date = "2026-11-22"
    strings:
        $chr = /ChrW?\(\s{0,4}\d{1,5}\s{0,4}\)/ nocase
    condition:
        filetype == "vba" and #chr > 12
}

rule Emotet_Caret_PowerShell
{
    meta:
        description = "Caret-split 'powershell' (P^Ow^er^she^L^L) as in the December 2020 Emotet cmd chain"
        campaign = "emotet"
        severity = "high"
        attack = "T1059.003, T1027"
        reference = "https://www.binarydefense.com/threat_watch/emotet-updates-prompt-new-detection-strategies-for-defenders/"
        author = "triage"
        date = "2026-11-22"
    strings:
        // Three caret-split letter pairs of "powershell" inside one word
        // (cmd drops the carets). Pairs scattered over a file are not
        // enough: uuencoded text is full of them.
        $word = /(p\^o|o\^w|w\^e|e\^r|r\^s|s\^h|h\^e|e\^l|l\^l)[a-z^]{0,3}(p\^o|o\^w|w\^e|e\^r|r\^s|s\^h|h\^e|e\^l|l\^l)[a-z^]{0,3}(p\^o|o\^w|w\^e|e\^r|r\^s|s\^h|h\^e|e\^l|l\^l)/ nocase
    condition:
        (filetype == "vba" or filetype == "bat" or filetype == "text" or filetype == "ps1" or
         filetype == "js" or filetype == "vbs" or filetype == "hta" or filetype == "wsf" or derived) and
        $word
}

rule Invoice_Doc_Filename
{
    meta:
        description = "Attachment named like the 2017-2018 Emotet invoice lures (PAYMENT 225EWF.doc, INVOICE-4821.doc)"
        campaign = "emotet"
        severity = "low"
        attack = "T1566.001"
        reference = "https://www.trendmicro.com/vinfo/us/threat-encyclopedia/spam/3670/thanksgiving-wishes-arrive-via-spam"
        author = "triage"
        date = "2026-11-22"
    condition:
        (extension == "doc" or extension == "docm" or extension == "docx") and
        depth > 0 and filename matches /(PAYMENT|INVOICE|Invoice)[ _-]?[A-Z0-9]{4,}\.doc[mx]?$/
}
