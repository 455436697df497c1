// Package cfbread reads a compound file back with an independent reader
// (mscfb) so the generator's tests can check what the writers produced.
package cfbread

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/richardlehane/mscfb"
)

// ReadAll returns every stream's bytes and every storage's CLSID, keyed by
// "/"-joined path (names as mscfb reports them: a leading control
// character is dropped); the root storage's CLSID is under "".
func ReadAll(data []byte) (streams map[string][]byte, clsids map[string]string, err error) {
	r, err := mscfb.New(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	streams = map[string][]byte{}
	clsids = map[string]string{"": r.ID()}
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			return streams, clsids, nil
		}
		if err != nil {
			return nil, nil, err
		}
		p := strings.Join(append(append([]string(nil), f.Path...), f.Name), "/")
		if f.FileInfo().IsDir() {
			clsids[p] = f.ID()
			continue
		}
		b, err := io.ReadAll(f)
		if err != nil {
			return nil, nil, err
		}
		streams[p] = b
	}
}
