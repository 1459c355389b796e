// Package mtasts implements the data formats of SMTP MTA Strict Transport
// Security, MTA-STS (RFC 8461): the policy file served at
// https://mta-sts.<domain>/.well-known/mta-sts.txt, the "_mta-sts.<domain>"
// TXT record that announces it, and the matching of MX host names against the
// policy's mx patterns.
//
// The package is pure: it does no I/O. Parsers bound their input before
// parsing, follow the ABNF of RFC 8461 §3.1 and §3.2 strictly (what this
// package accepts, a conforming sender accepts too), and report failures as
// errors wrapping one of the package's sentinel errors, with the line and
// field at fault. The String methods of Policy, Record and MX give the exact
// wire form, and parsing that form gives back an equal value.
//
// Policy.Validate reports what RFC 8461 requires; Policy.Problems adds
// warnings about choices that are legal but probably not intended.
package mtasts
