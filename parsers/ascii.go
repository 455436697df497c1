package parsers

// ASCIILower lowercases A-Z and leaves every other byte as it is, so that
// offsets in the result are offsets in s (strings.ToLower rewrites invalid
// UTF-8 and can change lengths).
func ASCIILower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// IsBase64Byte reports whether c belongs to the standard base64 alphabet
// or is its padding.
func IsBase64Byte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}
