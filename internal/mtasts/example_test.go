package mtasts_test

import (
	"errors"
	"fmt"

	"github.com/ststack/ststack/internal/mtasts"
)

func ExampleParsePolicy() {
	p, err := mtasts.ParsePolicy([]byte("version: STSv1\nmode: testing\nmx: *.Example.com.\nmax_age: 86400\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", p.String())
	fmt.Println(p.Match("mx1.example.com"), p.Match("example.com"))
	for _, pr := range p.Problems() {
		fmt.Println(pr.Severity, pr.Field)
	}
	// Output:
	// "version: STSv1\r\nmode: testing\r\nmx: *.example.com\r\nmax_age: 86400\r\n"
	// true false
	// warning mode
}

func ExampleParsePolicy_error() {
	_, err := mtasts.ParsePolicy([]byte("version: STSv1\nmode: enforce\nmx: mx.*.example.com\nmax_age: 86400\n"))
	fmt.Println(errors.Is(err, mtasts.ErrPolicyMX))
	fmt.Println(err)
	// Output:
	// true
	// mtasts: invalid policy mx: line 3: mx: "mx.*.example.com": a wildcard must be the whole left-most label, as in "*.example.com"
}

func ExampleRecordFromTXT() {
	r, err := mtasts.RecordFromTXT([][]string{{"v=spf1 -all"}, {"v=STSv1; ", "id=20240101"}})
	fmt.Println(r, err)
	_, err = mtasts.RecordFromTXT([][]string{{"v=STSv1; id=1"}, {"v=STSv1; id=2"}})
	fmt.Println(errors.Is(err, mtasts.ErrMultipleRecords))
	// Output:
	// v=STSv1; id=20240101 <nil>
	// true
}
