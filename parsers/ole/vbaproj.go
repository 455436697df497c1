package ole

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"triage/parsers"
	"triage/parsers/vba"
)

// vbaRoots returns the paths of the storages that hold a VBA project: the
// parent of every "VBA" storage that contains a "dir" stream. In Word that
// is "Macros", in Excel "_VBA_PROJECT_CUR", in a vbaProject.bin the root "".
func (d *doc) vbaRoots() []string {
	var roots []string
	seen := map[string]bool{}
	for _, e := range d.entries[1:] {
		if e.Dir || !strings.EqualFold(e.Name, "dir") {
			continue
		}
		parent := d.lookup(e.Parent)
		if parent == nil || !strings.EqualFold(parent.Name, "VBA") {
			continue
		}
		root := parent.Parent
		if !seen[strings.ToLower(root)] {
			seen[strings.ToLower(root)] = true
			roots = append(roots, root)
		}
	}
	return roots
}

// streamFunc opens the streams of the VBA project storage at root.
func (d *doc) streamFunc(root string) vba.StreamFunc {
	return func(name string) ([]byte, error) {
		p := name
		if root != "" {
			p = root + "/" + name
		}
		e := d.lookup(p)
		if e == nil || e.Dir {
			return nil, fmt.Errorf("ole: %q: %w", p, fs.ErrNotExist)
		}
		return d.read(e)
	}
}

// ExtractFromCFB extracts the VBA modules of every VBA project in a compound
// file: a whole .doc/.xls, or the vbaProject.bin part of an OOXML package.
// Decompression draws from budget. It returns the modules found and an error
// when the file or a project is damaged (wrapping parsers.ErrMalformed) or
// a limit was reached; both can be non-nil.
func ExtractFromCFB(ctx context.Context, data []byte, budget *parsers.Budget) ([]vba.Module, error) {
	d, err := openDoc(data, budget)
	if err != nil {
		return nil, err
	}
	docs := []*doc{d}
	var errs []error
	// PowerPoint keeps its project in a zlib-compressed embedded storage.
	if e := d.lookup("PowerPoint Document"); e != nil && !e.Dir && !d.pptEncrypted() {
		if stream, err := d.read(e); err == nil {
			stores, err := pptStorages(stream, budget)
			if err != nil {
				errs = append(errs, err)
			}
			for _, s := range stores {
				if sub, err := openDoc(s.Data, budget); err == nil {
					docs = append(docs, sub)
				}
			}
		}
	}
	var mods []vba.Module
	for _, doc := range docs {
		for _, root := range doc.vbaRoots() {
			proj, perr := vba.ExtractProject(ctx, doc.streamFunc(root), budget)
			if perr != nil {
				errs = append(errs, perr)
			}
			if proj != nil {
				mods = append(mods, proj.Modules...)
			}
		}
	}
	return mods, errors.Join(errs...)
}
