# regress.ps1 - inert regression sample after catalogue section 14 (negative)
$sig = @"
[DllImport("kernel32.dll")] public static extern IntPtr VirtualAlloc(IntPtr a, uint b, uint c, uint d);
[DllImport("kernel32.dll")] public static extern IntPtr CreateThread(IntPtr a, uint b, IntPtr c, IntPtr d, uint e, IntPtr f);
"@
$buf = New-Object byte[] 204800
for ($i = 0; $i -lt $buf.Length; $i++) { $buf[$i] = $buf[$i] -bxor 0x5A }
Write-Output "TRIAGE-REGRESSION"
