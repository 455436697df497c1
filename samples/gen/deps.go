package main

import (
	"bytes"

	"triage/parsers/archive"
)

// encryptedZip writes a ZipCrypto-encrypted zip (deterministic: the
// encryption headers are derived from the content).
func encryptedZip(password string, entries []zipEntry) ([]byte, error) {
	files := make([]archive.ZipFile, len(entries))
	for i, e := range entries {
		files[i] = archive.ZipFile{Name: e.name, Data: e.data, Modified: e.modified, Store: e.store}
	}
	var buf bytes.Buffer
	if err := archive.WriteEncryptedZip(&buf, password, files); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
