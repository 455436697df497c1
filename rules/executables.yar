// Executable payloads: Agent Tesla (§12), PyLocky (§6), Netwalker (§14), FIFA lures (§10), policy (§16).

// No `import "pe"`: a module import costs ~0.25 ms on every scan of every
// artifact (it builds the module's object tree), 40 times the scan itself
// on small artifacts. The CLR header check below reads the PE directly.

rule PE_DotNet_Stealer_Strings
{
    meta:
        description = ".NET executable naming mail/FTP clients and SMTP: the Agent Tesla (NEGASTEAL) credential-stealer profile"
        campaign = "agenttesla"
        severity = "high"
        attack = "T1555, T1048.003"
        reference = "https://success.trendmicro.com/en-US/solution/KA-0009568"
        author = "triage"
        date = "2026-11-22"
    strings:
        $s1 = "Becky" ascii wide
        $s2 = "FileZilla" ascii wide
        $s3 = "smtp" ascii wide nocase
        $s4 = "Thunderbird" ascii wide
        $s5 = "\\Google\\Chrome\\User Data" ascii wide
    condition:
        // A .NET assembly: the COM descriptor (CLR header) data directory,
        // entry 14, is set (PE32: directories at optional header + 96,
        // PE32+: + 112).
        filetype == "pe" and
        uint16(0) == 0x5a4d and uint32(uint32(0x3c)) == 0x00004550 and
        ((uint16(uint32(0x3c) + 24) == 0x10b and uint32(uint32(0x3c) + 24 + 96 + 14 * 8) != 0) or
         (uint16(uint32(0x3c) + 24) == 0x20b and uint32(uint32(0x3c) + 24 + 112 + 14 * 8) != 0)) and
        3 of ($s*)
}

rule PE_AutoIt_Compiled
{
    meta:
        description = "AutoIt-compiled executable (Agent Tesla variants hide the binary this way)"
        campaign = "agenttesla"
        severity = "medium"
        attack = "T1027"
        reference = "https://success.trendmicro.com/en-US/solution/KA-0009568"
        author = "triage"
        date = "2026-11-22"
    strings:
        $a1 = "AU3!EA06"
        $a2 = ">>>AUTOIT SCRIPT<<<" nocase
    condition:
        filetype == "pe" and uint16(0) == 0x5a4d and any of them
}

rule PE_PyInstaller_InnoSetup
{
    meta:
        description = "Inno Setup installer wrapping a PyInstaller program (PyLocky packing); either alone is common, both together are not"
        campaign = "pylocky"
        severity = "high"
        attack = "T1027.002"
        reference = "https://www.trendmicro.com/es_es/research/18/i/a-closer-look-at-the-locky-poser-pylocky-ransomware.html"
        author = "triage"
        date = "2026-11-22"
    strings:
        $inno = "Inno Setup" ascii
        $py1 = { 4D 45 49 0C 0B 0A 0B 0E }
        $py2 = "_MEIPASS" ascii
        $lf = "lockyfud" ascii nocase
    condition:
        filetype == "pe" and uint16(0) == 0x5a4d and (($inno and any of ($py*)) or $lf)
}

rule VBS_Embedded_PE_Blob
{
    meta:
        description = "Script carrying a base64 or hex blob of a Windows executable (TVqQ / 4D5A90) with a file-write primitive"
        campaign = "netwalker"
        severity = "high"
        attack = "T1027, T1059.005"
        reference = "https://forum.anomali.com/t/netwalker-ransomware-infecting-users-via-coronavirus-phishing/4665"
        author = "triage"
        date = "2026-11-22"
    strings:
        $b64 = "TVqQAAMAAAAEAAAA"
        $b64b = "TVpQAAIAAAAEAA8A"
        $b64c = "TVoAAAAAAAAAAAAA"
        $hex = "4D5A90000300000004000000" nocase
        $w1 = "ADODB.Stream" nocase
        $w2 = "CreateTextFile" nocase
        $w3 = "SaveToFile" nocase
    condition:
        (filetype == "vbs" or filetype == "js" or filetype == "wsf" or filetype == "hta") and any of ($b64*, $hex) and any of ($w*)
}

rule Attachment_WorldCup_Schedule_Lure
{
    meta:
        description = "Attachment or archive member named as the 2018 'World Cup schedule and scoresheet' checker: Check Point's lure mails carried executables under that name"
        campaign = "fifa"
        severity = "medium"
        attack = "T1566.001, T1204.002"
        reference = "https://www.netsec.news/world-cup-wallchart-phishing-scam-detected/"
        author = "triage"
        date = "2026-11-22"
    condition:
        // Names only: evaluated without reading the attachment's bytes.
        depth > 0 and
        filename matches /(world[ _.-]?cup[ _.-]?2018[ _.-]?schedule|schedule[ _.-]?and[ _.-]?scoresheet)/i
}

rule Policy_ELF_Attachment
{
    meta:
        description = "Linux ELF executable attached to mail (policy: RansomExx had a Linux variant; end users do not receive ELF binaries)"
        campaign = "policy"
        severity = "medium"
        attack = "T1204.002"
        reference = "https://www.trendmicro.com/vinfo/us/security/news/cybercrime-and-digital-threats/"
        author = "triage"
        date = "2026-11-22"
    condition:
        filetype == "elf" and depth > 0 and uint32(0) == 0x464c457f
}

rule Policy_MacOS_Executable_Or_Installer
{
    meta:
        description = "Mach-O executable, .pkg (xar) or .dmg attached to mail (policy: ThiefQuest spread as macOS installers)"
        campaign = "policy"
        severity = "medium"
        attack = "T1204.002"
        reference = "https://www.trendmicro.com/vinfo/us/security/news/cybercrime-and-digital-threats/"
        author = "triage"
        date = "2026-11-22"
    condition:
        // Mach-O is detected as "macho"; xar (.pkg) and UDIF (.dmg) as "binary".
        (filetype == "macho" or filetype == "binary") and depth > 0 and (
            uint32(0) == 0xfeedface or uint32(0) == 0xfeedfacf or uint32(0) == 0xcefaedfe or uint32(0) == 0xcffaedfe or
            uint32(0) == 0x21726178 or
            (filesize > 512 and uint32be(filesize - 512) == 0x6b6f6c79))
}
