package config

import "slices"

// Provenances of stored reports, as reporting.count.provenance names them
// (the values of store.Receipt.Provenance; docs/reports.md).
const (
	ProvenanceEmailAligned   = "email-aligned"
	ProvenanceEmailUnaligned = "email-unaligned"
	ProvenanceHTTPS          = "https"
)

// Provenances lists every provenance, most trusted first.
func Provenances() []string {
	return []string{ProvenanceEmailAligned, ProvenanceEmailUnaligned, ProvenanceHTTPS}
}

// Count is the reporting.count section: which stored reports count for
// readiness and alerts (the checker) and in the dashboard's sums.
//
//	count:
//	  provenance: [email-aligned, email-unaligned, https]   # default: all
//	  conflicting: false                                    # default
type Count struct {
	// Provenances are the provenances counted; empty: all.
	Provenances []string
	// Conflicting counts reports with a second, different body under the
	// same organisation and report-id too (default: left out until
	// resolved; one of them may be forged).
	Conflicting bool
}

// count reads reporting.count: structure (a mapping of provenance, a list,
// and conflicting, a boolean), then values (known provenances, each once,
// at least one).
func (p *parser) count(f field) Count {
	var c Count
	fs := p.mapping(f.val, f.path, "provenance", "conflicting")
	if fs == nil {
		return c
	}
	if cf, ok := fs["conflicting"]; ok {
		c.Conflicting, _ = p.boolean(cf)
	}
	pf, ok := fs["provenance"]
	if !ok {
		return c
	}
	items := p.texts(pf)
	for _, it := range items {
		switch {
		case !slices.Contains(Provenances(), it.text):
			p.addAt(it.scalar, nil, "%q is not a provenance: use %s, %s or %s", it.text,
				ProvenanceEmailAligned, ProvenanceEmailUnaligned, ProvenanceHTTPS)
		case slices.Contains(c.Provenances, it.text):
			p.addAt(it.scalar, nil, "%s is listed twice", it.text)
		default:
			c.Provenances = append(c.Provenances, it.text)
		}
	}
	if len(items) == 0 && pf.val.Kind != 0 {
		p.add(pf.val.Line, pf.path, nil, "lists no provenance: omit it to count every one, or name those to count")
	}
	return c
}
