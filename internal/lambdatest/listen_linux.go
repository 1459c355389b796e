package lambdatest

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// listensOn reports whether process pid has a TCP socket listening on
// addr ("127.0.0.1:PORT"): one of its file descriptors is the socket
// /proc/net/tcp lists in state LISTEN on that address.
func listensOn(pid int, addr string) (bool, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return false, fmt.Errorf("lambdatest: %q: want an IPv4 address and port", addr)
	}
	inodes := map[string]bool{}
	fds, err := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	if err != nil {
		return false, err
	}
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil {
			if ino, ok := strings.CutPrefix(l, "socket:["); ok {
				inodes[strings.TrimSuffix(ino, "]")] = true
			}
		}
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		return false, err
	}
	defer f.Close()
	// local_address is the address in host byte order as hex, then the
	// port: 0100007F:1F90 is 127.0.0.1:8080; state 0A is LISTEN.
	ip := ap.Addr().As4()
	local := fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ap.Port())
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		if len(f) < 10 || f[1] != local || f[3] != "0A" {
			continue
		}
		if inodes[f[9]] {
			return true, nil
		}
	}
	return false, sc.Err()
}
