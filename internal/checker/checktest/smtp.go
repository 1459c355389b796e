package checktest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// SMTP is a loopback SMTP server, just enough of RFC 5321 and RFC 3207 for a
// STARTTLS probe: banner, EHLO/HELO, STARTTLS, NOOP, RSET, QUIT. It listens
// on one port at several loopback addresses; what it offers can differ per
// address (STARTTLS on or off), and after STARTTLS the certificate and
// highest TLS version are chosen by the client's SNI, which a probing client
// sets to the MX host name.
type SMTP struct {
	// Port is the TCP port, the same on every address.
	Port int

	mu      sync.RWMutex
	noTLS   map[netip.Addr]bool
	hosts   map[string]smtpHost
	done    chan struct{}
	wg      sync.WaitGroup
	lns     []net.Listener
	timeout time.Duration
}

type smtpHost struct {
	cert       *tls.Certificate
	maxVersion uint16
}

// NewSMTP starts the server on each of addrs (loopback addresses such as
// "127.0.0.1" and "127.0.0.2"), all on the same port; it is stopped when the
// test ends.
func NewSMTP(tb testing.TB, addrs ...string) *SMTP {
	tb.Helper()
	if len(addrs) == 0 {
		addrs = []string{"127.0.0.1"}
	}
	s := &SMTP{noTLS: map[netip.Addr]bool{}, hosts: map[string]smtpHost{},
		done: make(chan struct{}), timeout: 10 * time.Second}
	for range 20 {
		lns, err := listenAll(addrs)
		if err == nil {
			s.lns = lns
			break
		}
	}
	if s.lns == nil {
		tb.Fatalf("checktest: smtp: no port free on all of %v", addrs)
	}
	s.Port = s.lns[0].Addr().(*net.TCPAddr).Port
	for _, ln := range s.lns {
		s.wg.Add(1)
		go s.accept(ln)
	}
	tb.Cleanup(func() {
		close(s.done)
		for _, ln := range s.lns {
			ln.Close()
		}
		s.wg.Wait()
	})
	return s
}

func listenAll(addrs []string) ([]net.Listener, error) {
	first, err := net.Listen("tcp", net.JoinHostPort(addrs[0], "0"))
	if err != nil {
		return nil, err
	}
	lns := []net.Listener{first}
	port := strconv.Itoa(first.Addr().(*net.TCPAddr).Port)
	for _, a := range addrs[1:] {
		ln, err := net.Listen("tcp", net.JoinHostPort(a, port))
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// SetCert makes the server present cert to clients whose SNI is host, and
// negotiate at most maxVersion (0: the crypto/tls default).
func (s *SMTP) SetCert(host string, cert tls.Certificate, maxVersion uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hosts[strings.ToLower(host)] = smtpHost{cert: &cert, maxVersion: maxVersion}
}

// DisableSTARTTLS stops offering STARTTLS on the listener at addr.
func (s *SMTP) DisableSTARTTLS(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noTLS[netip.MustParseAddr(addr)] = true
}

func (s *SMTP) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.serve(c)
		}()
	}
}

func (s *SMTP) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS10,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			s.mu.RLock()
			h, ok := s.hosts[strings.ToLower(hello.ServerName)]
			s.mu.RUnlock()
			if !ok {
				return nil, fmt.Errorf("checktest: smtp: no certificate for %q", hello.ServerName)
			}
			return &tls.Config{
				MinVersion:   tls.VersionTLS10,
				MaxVersion:   h.maxVersion,
				Certificates: []tls.Certificate{*h.cert},
			}, nil
		},
	}
}

func (s *SMTP) serve(c net.Conn) {
	local, _ := netip.ParseAddrPort(c.LocalAddr().String())
	s.mu.RLock()
	offerTLS := !s.noTLS[local.Addr().Unmap()]
	s.mu.RUnlock()

	var conn = c
	inTLS := false
	r := bufio.NewReader(conn)
	write := func(lines ...string) bool {
		_ = conn.SetWriteDeadline(time.Now().Add(s.timeout))
		_, err := conn.Write([]byte(strings.Join(lines, "\r\n") + "\r\n"))
		return err == nil
	}
	if !write("220 checktest ESMTP") {
		return
	}
	for {
		select {
		case <-s.done:
			return
		default:
		}
		_ = conn.SetReadDeadline(time.Now().Add(s.timeout))
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			lines := []string{"250-checktest", "250-PIPELINING", "250-8BITMIME"}
			if offerTLS && !inTLS {
				lines = append(lines, "250-STARTTLS")
			}
			lines = append(lines, "250 SMTPUTF8")
			if !write(lines...) {
				return
			}
		case "HELO":
			if !write("250 checktest") {
				return
			}
		case "STARTTLS":
			if !offerTLS || inTLS {
				if !write("502 5.5.1 STARTTLS not available") {
					return
				}
				continue
			}
			if !write("220 2.0.0 ready to start TLS") {
				return
			}
			tc := tls.Server(c, s.tlsConfig())
			_ = tc.SetDeadline(time.Now().Add(s.timeout))
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, inTLS = tc, true
			r = bufio.NewReader(conn)
		case "NOOP", "RSET":
			if !write("250 2.0.0 ok") {
				return
			}
		case "QUIT":
			write("221 2.0.0 bye")
			return
		default:
			if !write("502 5.5.2 command not implemented") {
				return
			}
		}
	}
}
