// Office documents without macros: online video (§4), DDE (§5), RTF objects (§15).

rule Office_OnlineVideo_Active_Content
{
    meta:
        description = "Word online-video embeddedHtml carrying script, object, form or a blob download instead of a plain video iframe"
        campaign = "online-video"
        severity = "critical"
        attack = "T1204.002, T1027"
        reference = "https://blog.cymulate.com/abusing-microsoft-office-online-video"
        author = "triage"
        date = "2026-11-22"
    strings:
        $s1 = "<script" nocase
        $s2 = "<object" nocase
        $s3 = "<embed" nocase
        $s4 = "<form" nocase
        $s5 = "msSaveOrOpenBlob" nocase
        $s6 = "atob(" nocase
    condition:
        filetype == "html" and parent_type == "ooxml" and any of them
}

rule Office_DDE_Field_Command
{
    meta:
        description = "Word field code or Excel formula using DDE/DDEAUTO to start a program"
        campaign = "iqy"
        severity = "high"
        attack = "T1559.002"
        reference = "https://www.cyber.nj.gov/alerts-and-advisories/20180619/iqy-attachment-malspam-campaign"
        author = "triage"
        date = "2026-11-22"
    strings:
        $f1 = /<w:instrText[^>]{0,80}>\s{0,8}DDE(AUTO)?\b/ nocase
        $f2 = /w:instr="\s{0,8}DDE(AUTO)?\b/ nocase
        $x1 = /<f>[^<]{0,40}(cmd|powershell|mshta)\|/ nocase
    condition:
        filetype == "xml" and any of them
}

rule RTF_Embedded_Package
{
    meta:
        description = "RTF carrying an embedded OLE Package object (a file wrapped to be run from the document)"
        campaign = "lnk"
        severity = "medium"
        attack = "T1204.002, T1027"
        reference = "https://onebe.co.jp/dlpnews/?p=2793"
        author = "triage"
        date = "2026-11-22"
    strings:
        $obj = "\\objdata" nocase
        $cls = "\\objclass Package" nocase
        $hex = "5061636b61676500" nocase
    condition:
        filetype == "rtf" and $obj and ($cls or $hex)
}

rule RTF_Equation_Editor_Object
{
    meta:
        description = "RTF with an Equation Editor object (CVE-2017-11882 / CVE-2018-0802 exploitation vehicle)"
        campaign = "lnk"
        severity = "high"
        attack = "T1203"
        reference = "https://attack.mitre.org/techniques/T1203/"
        author = "triage"
        date = "2026-11-22"
    strings:
        $obj = "\\objdata" nocase
        $c1 = "\\objclass Equation" nocase
        $c2 = "4571756174696f6e2e33" nocase
    condition:
        filetype == "rtf" and $obj and any of ($c*)
}
