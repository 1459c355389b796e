package checktest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync/atomic"
	"testing"
	"time"
)

// CA is a test certificate authority: a self-signed ECDSA P-256 root that
// issues server certificates directly.
type CA struct {
	Cert *x509.Certificate
	// Pool holds Cert only; give it to the checker as its roots.
	Pool *x509.CertPool
	// PEM is Cert in PEM form, as a --ca-file would hold it.
	PEM []byte

	key    *ecdsa.PrivateKey
	serial atomic.Int64
}

// NewCA creates a root valid from ten years before now to ten years after.
func NewCA(tb testing.TB, now time.Time) *CA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("checktest: ca key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "checktest root"},
		NotBefore:             now.AddDate(-10, 0, 0),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatalf("checktest: ca cert: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("checktest: ca cert: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	ca := &CA{Cert: cert, Pool: pool, key: key,
		PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	ca.serial.Store(1)
	return ca
}

// Issue returns a server certificate for names, valid in [notBefore, notAfter].
func (ca *CA) Issue(tb testing.TB, notBefore, notAfter time.Time, names ...string) tls.Certificate {
	tb.Helper()
	return issue(tb, ca.Cert, ca.key, ca.serial.Add(1), notBefore, notAfter, names)
}

// SelfSigned returns a self-signed server certificate for names, which no
// checker trusts.
func SelfSigned(tb testing.TB, notBefore, notAfter time.Time, names ...string) tls.Certificate {
	tb.Helper()
	return issue(tb, nil, nil, 1, notBefore, notAfter, names)
}

func issue(tb testing.TB, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, serial int64, notBefore, notAfter time.Time, names []string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("checktest: key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		tb.Fatalf("checktest: cert for %v: %v", names, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("checktest: cert for %v: %v", names, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}
