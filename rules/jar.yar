// Adwind/jRAT JARs (CAMPAIGNS.md §8): Allatori-style I/l class names and config blobs.

rule JAR_Adwind_Il_Class_Names
{
    meta:
        description = "JAR whose class paths are made only of the letters I and l (Allatori-style obfuscation seen in Adwind/jRAT)"
        campaign = "adwind"
        severity = "high"
        attack = "T1027, T1204.002"
        reference = "https://japan.zdnet.com/article/35104326/"
        author = "triage"
        date = "2026-11-22"
    strings:
        $mf = "META-INF/MANIFEST.MF"
        $il = /[Il]{2,12}\/[Il]{2,12}\/[Il]{1,12}\.class/
    condition:
        filetype == "jar" and $mf and #il >= 10
}

rule JAR_jRAT_Config_Resource
{
    meta:
        description = "JAR carrying resource names used by jRAT/Adwind builds for their encrypted configuration"
        campaign = "adwind"
        severity = "high"
        attack = "T1027"
        reference = "https://infochat.com.ph/adwind-switches-to-business-used-against-targets-in-over-100-countries-and-territories"
        author = "triage"
        date = "2026-11-22"
    strings:
        $c1 = "drop.box"
        $c2 = "mega.download"
        $c3 = "sky.drive"
        $c4 = "config.xml"
        $c5 = "key.dat"
        $c6 = "enc.dat"
    condition:
        filetype == "jar" and ($c1 or $c2 or $c3 or ($c5 and $c6) or ($c4 and $c5 and $c6))
}
