package stress

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/ststack/ststack/internal/config"
)

// Org returns an organisation file of n domains s000.stress.example …
// (policies in enforce mode, DNS elsewhere), the domains, and the policy
// body each policy host must answer with.
func Org(n int) (yaml string, domains []string, policies map[string]string, err error) {
	var b strings.Builder
	b.WriteString("organization: Stress Test\nregion: eu-west-1\ndomains:\n")
	for i := range n {
		d := fmt.Sprintf("s%03d.stress.example", i)
		domains = append(domains, d)
		fmt.Fprintf(&b, "  - name: %s\n    dns: {external: true}\n    policy: {mode: enforce, mx: [mx1.%s, \"*.mx.%s\"]}\n", d, d, d)
	}
	b.WriteString("reporting: {https: true}\n")
	cfg, err := config.Parse([]byte(b.String()), "stress.yaml")
	if err != nil {
		return "", nil, nil, err
	}
	policies = map[string]string{}
	for _, d := range cfg.Domains {
		policies[d.PolicyHost()] = d.PolicyText()
	}
	return b.String(), domains, policies, nil
}

// Server is a running `ststack serve`.
type Server struct {
	// URL is where it listens, "http://127.0.0.1:PORT".
	URL  string
	cmd  *exec.Cmd
	done chan error
}

var listening = regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)`)

// StartServe runs `bin serve` with the organisation file config and the
// data directory data on a free loopback port, its log to logs, and waits
// until it says where it listens.
func StartServe(bin, config, data string, logs io.Writer) (*Server, error) {
	s := &Server{done: make(chan error, 1)}
	s.cmd = exec.Command(bin, "serve", "--config", config, "--addr", "127.0.0.1:0", "--data", data)
	s.cmd.Stderr = logs
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case url <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { s.done <- s.cmd.Wait() }()
	select {
	case s.URL = <-url:
		return s, nil
	case err := <-s.done:
		return nil, fmt.Errorf("ststack serve exited: %v", err)
	case <-time.After(30 * time.Second):
		s.Kill()
		return nil, errors.New("ststack serve did not say where it listens within 30 s")
	}
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop interrupts the server and waits (at most 20 s) for it to exit.
func (s *Server) Stop() error {
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		return err
	}
	select {
	case err := <-s.done:
		return err
	case <-time.After(20 * time.Second):
		s.Kill()
		return errors.New("ststack serve did not stop within 20 s of SIGINT")
	}
}

// Kill stops the server at once.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
}
