package mtasts

import (
	"strconv"
	"testing"
)

var benchPolicy = []byte("version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: mx2.example.com\r\nmx: *.mail.example.net\r\nmax_age: 1209600\r\n")

func BenchmarkParsePolicy(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPolicy)))
	for b.Loop() {
		if _, err := ParsePolicy(benchPolicy); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPolicyString(b *testing.B) {
	p, err := ParsePolicy(benchPolicy)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if p.String() == "" {
			b.Fatal("empty")
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	p, err := ParsePolicy(benchPolicy)
	if err != nil {
		b.Fatal(err)
	}
	// The worst case: the last pattern, a wildcard, after two misses.
	const host = "MX7.Mail.Example.NET."
	b.ReportAllocs()
	for b.Loop() {
		if !p.Match(host) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkPolicyID(b *testing.B) {
	p, err := ParsePolicy(benchPolicy)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if p.ID() == "" {
			b.Fatal("empty")
		}
	}
}

func BenchmarkParseRecord(b *testing.B) {
	const txt = "v=STSv1; id=20160831085700Z"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRecord(txt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePolicyLarge parses a policy of 1000 mx lines.
func BenchmarkParsePolicyLarge(b *testing.B) {
	in := []byte("version: STSv1\nmode: enforce\nmax_age: 1209600\n")
	for i := range 1000 {
		in = append(in, "mx: mx"+strconv.Itoa(i)+".example.com\n"...)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ParsePolicy(in); err != nil {
			b.Fatal(err)
		}
	}
}
