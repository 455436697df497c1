// Package classw writes tiny Java class files (version 52, Java 8) for JAR
// test samples: an empty class, and a class whose main method prints one
// line. Straight-line code needs no StackMapTable.
package classw

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// Magic starts every class file.
const Magic = 0xcafebabe

// Constant pool tags.
const (
	tagUtf8        = 1
	tagClass       = 7
	tagString      = 8
	tagFieldref    = 9
	tagMethodref   = 10
	tagNameAndType = 12
)

// pool is a class-file constant pool under construction.
type pool struct {
	b bytes.Buffer
	n uint16 // entries so far; indices start at 1
}

func (p *pool) add(entry []byte) uint16 {
	p.b.Write(entry)
	p.n++
	return p.n
}

func (p *pool) utf8(s string) uint16 {
	e := []byte{tagUtf8}
	e = binary.BigEndian.AppendUint16(e, uint16(len(s)))
	return p.add(append(e, s...))
}

func (p *pool) ref(tag byte, idx ...uint16) uint16 {
	e := []byte{tag}
	for _, i := range idx {
		e = binary.BigEndian.AppendUint16(e, i)
	}
	return p.add(e)
}

func (p *pool) class(name string) uint16 { return p.ref(tagClass, p.utf8(name)) }

// check rejects names the samples never need and that would need Modified
// UTF-8 handling.
func check(name string) error {
	if name == "" || strings.ContainsAny(name, ".;[") {
		return fmt.Errorf("classw: bad internal class name %q", name)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0 || name[i] >= 0x80 {
			return fmt.Errorf("classw: non-ASCII class name %q", name)
		}
	}
	return nil
}

// Empty returns a public class with no members extending java.lang.Object.
// name is the internal form, e.g. "Il/lI/IlIl".
func Empty(name string) ([]byte, error) {
	if err := check(name); err != nil {
		return nil, err
	}
	var p pool
	this := p.class(name)
	super := p.class("java/lang/Object")
	return assemble(&p, this, super, nil), nil
}

// Hello returns a class whose `public static void main(String[])` prints
// msg with System.out.println.
func Hello(name, msg string) ([]byte, error) {
	if err := check(name); err != nil {
		return nil, err
	}
	if len(msg) > 0xffff {
		return nil, fmt.Errorf("classw: message of %d bytes", len(msg))
	}
	var p pool
	this := p.class(name)
	super := p.class("java/lang/Object")
	mName := p.utf8("main")
	mDesc := p.utf8("([Ljava/lang/String;)V")
	code := p.utf8("Code")
	out := p.ref(tagFieldref, p.class("java/lang/System"),
		p.ref(tagNameAndType, p.utf8("out"), p.utf8("Ljava/io/PrintStream;")))
	println := p.ref(tagMethodref, p.class("java/io/PrintStream"),
		p.ref(tagNameAndType, p.utf8("println"), p.utf8("(Ljava/lang/String;)V")))
	str := p.ref(tagString, p.utf8(msg))
	if str > 0xff {
		return nil, fmt.Errorf("classw: constant %d out of ldc range", str)
	}

	var insns []byte
	insns = append(insns, 0xb2) // getstatic
	insns = binary.BigEndian.AppendUint16(insns, out)
	insns = append(insns, 0x12, byte(str)) // ldc
	insns = append(insns, 0xb6)            // invokevirtual
	insns = binary.BigEndian.AppendUint16(insns, println)
	insns = append(insns, 0xb1) // return

	var attr []byte
	attr = binary.BigEndian.AppendUint16(attr, 2) // max_stack
	attr = binary.BigEndian.AppendUint16(attr, 1) // max_locals
	attr = binary.BigEndian.AppendUint32(attr, uint32(len(insns)))
	attr = append(attr, insns...)
	attr = binary.BigEndian.AppendUint16(attr, 0) // exception_table_length
	attr = binary.BigEndian.AppendUint16(attr, 0) // attributes_count

	var m []byte
	m = binary.BigEndian.AppendUint16(m, 0x0009) // public static
	m = binary.BigEndian.AppendUint16(m, mName)
	m = binary.BigEndian.AppendUint16(m, mDesc)
	m = binary.BigEndian.AppendUint16(m, 1) // attributes_count
	m = binary.BigEndian.AppendUint16(m, code)
	m = binary.BigEndian.AppendUint32(m, uint32(len(attr)))
	m = append(m, attr...)
	return assemble(&p, this, super, [][]byte{m}), nil
}

func assemble(p *pool, this, super uint16, methods [][]byte) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, Magic)
	b = binary.BigEndian.AppendUint16(b, 0)  // minor
	b = binary.BigEndian.AppendUint16(b, 52) // major: Java 8
	b = binary.BigEndian.AppendUint16(b, p.n+1)
	b = append(b, p.b.Bytes()...)
	b = binary.BigEndian.AppendUint16(b, 0x0021) // public super
	b = binary.BigEndian.AppendUint16(b, this)
	b = binary.BigEndian.AppendUint16(b, super)
	b = binary.BigEndian.AppendUint16(b, 0) // interfaces
	b = binary.BigEndian.AppendUint16(b, 0) // fields
	b = binary.BigEndian.AppendUint16(b, uint16(len(methods)))
	for _, m := range methods {
		b = append(b, m...)
	}
	return binary.BigEndian.AppendUint16(b, 0) // attributes
}
