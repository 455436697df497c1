// HTML smuggling: a page that assembles a file from base64 and saves it.

rule HTML_Smuggling_Blob_Save
{
    meta:
        description = "HTML script decodes a base64 string into a Blob and saves it (msSaveOrOpenBlob or a.download + createObjectURL)"
        campaign = "html-smuggling"
        severity = "high"
        attack = "T1027.006"
        reference = "https://attack.mitre.org/techniques/T1027/006/"
        author = "triage"
        date = "2026-11-22"
    strings:
        $atob = "atob(" nocase
        $b64 = "base64," nocase
        $blob = "new Blob" nocase
        $save1 = "msSaveOrOpenBlob" nocase
        $save2 = "createObjectURL" nocase
        $dl = ".download" nocase
    condition:
        (filetype == "html" or filetype == "hta") and $blob and ($atob or $b64) and ($save1 or ($save2 and $dl))
}
