package mailin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Inbox layout: the drop folder and where processed files go.
const (
	DoneDir     = "done"     // stored, or stored before
	RejectedDir = "rejected" // not a report, refused or dropped; a .reason file beside each
	// reasonSuffix names the file that says why a file was rejected.
	reasonSuffix = ".reason"
)

// Inbox defaults.
const (
	// DefaultPollInterval is how often Run looks into the folder.
	DefaultPollInterval = 3 * time.Second
	// settleTime: a file modified more recently than this may still be
	// being written; it waits for the next poll.
	settleTime = 2 * time.Second
	// maxAttempts bounds the tries of a file whose processing fails with a
	// temporary error; then it is rejected.
	maxAttempts = 5
)

// Inbox is a drop folder of report e-mails, one message per file, as
// `ststack serve` polls <data>/inbox/: each file is processed once and then
// moved to done/ (stored, or stored before) or rejected/ (not a report,
// refused, dropped; with a <name>.reason file saying why). A file whose
// processing fails (a temporary error) stays for the next poll, at most
// maxAttempts times in all. Hidden files (".name") and files changed in the last
// two seconds are left alone. Use one Inbox per folder, from one goroutine.
type Inbox struct {
	dir      string
	p        *Processor
	log      *slog.Logger
	now      func() time.Time
	attempts map[string]int
}

// NewInbox returns the inbox in dir, creating dir, dir/done and
// dir/rejected as needed.
func NewInbox(dir string, p *Processor, log *slog.Logger) (*Inbox, error) {
	for _, d := range []string{dir, filepath.Join(dir, DoneDir), filepath.Join(dir, RejectedDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("mailin: inbox: %w", err)
		}
	}
	if log == nil {
		log = slog.Default()
	}
	return &Inbox{dir: dir, p: p, log: log, now: time.Now, attempts: map[string]int{}}, nil
}

// Dir returns the folder.
func (b *Inbox) Dir() string { return b.dir }

// Run polls the folder every interval (0: DefaultPollInterval) until ctx
// is done.
func (b *Inbox) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := b.Poll(ctx); err != nil && ctx.Err() == nil {
			b.log.ErrorContext(ctx, "mailin: inbox", "dir", b.dir, "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll processes the files now in the folder, in name order, and returns
// how many it moved. The error is about the folder itself.
func (b *Inbox) Poll(ctx context.Context) (int, error) {
	entries, err := os.ReadDir(b.dir)
	if err != nil {
		return 0, fmt.Errorf("mailin: inbox: %w", err)
	}
	moved := 0
	for _, e := range entries {
		if ctx.Err() != nil {
			break
		}
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") {
			continue
		}
		info, err := e.Info()
		if err != nil || b.now().Sub(info.ModTime()) < settleTime {
			continue
		}
		if b.file(ctx, name, info.Size()) {
			moved++
		}
	}
	for name := range b.attempts { // forget files that went away
		if !slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return e.Name() == name }) {
			delete(b.attempts, name)
		}
	}
	return moved, nil
}

// file processes one file and reports whether it was moved.
func (b *Inbox) file(ctx context.Context, name string, size int64) bool {
	path := filepath.Join(b.dir, name)
	var (
		out Outcome
		err error
	)
	if size > b.p.MaxMessage() {
		b.p.count(KindRefused)
		out = Outcome{Kind: KindRefused, Reason: "message larger than " + strconv.FormatInt(b.p.MaxMessage(), 10) + " bytes"}
		b.log.WarnContext(ctx, "mailin: "+string(KindRefused), "file", path, "bytes", size, "reason", out.Reason)
	} else {
		var msg []byte
		msg, err = readFile(path, b.p.MaxMessage())
		if err == nil {
			out, err = b.p.Process(ctx, msg)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		b.attempts[name]++
		if b.attempts[name] < maxAttempts {
			if !errors.Is(err, ErrTemporary) { // Process logged the others
				b.log.ErrorContext(ctx, "mailin: inbox file", "file", path, "error", err.Error())
			}
			return false
		}
		out = Outcome{Kind: KindRefused, Reason: fmt.Sprintf("gave up after %d attempts: %s", maxAttempts, oneLine(err))}
	}
	delete(b.attempts, name)
	if err := b.move(name, out); err != nil {
		b.log.ErrorContext(ctx, "mailin: inbox", "file", path, "error", err.Error())
		return false
	}
	return true
}

// move files name under done/ or rejected/ (with its reason), under a free
// name.
func (b *Inbox) move(name string, out Outcome) error {
	sub := DoneDir
	if out.Kind != KindStored && out.Kind != KindDuplicate {
		sub = RejectedDir
	}
	target := filepath.Join(b.dir, sub, name)
	for i := 1; ; i++ {
		if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
			break
		}
		target = filepath.Join(b.dir, sub, name+"."+strconv.Itoa(i))
	}
	if sub == RejectedDir {
		text := string(out.Kind) + ": " + out.Reason + "\n"
		if err := os.WriteFile(target+reasonSuffix, []byte(text), 0o600); err != nil {
			return err
		}
	}
	return os.Rename(filepath.Join(b.dir, name), target)
}

// readFile reads at most max bytes of a file.
func readFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	// A file that grew past max since it was listed: Process refuses it.
	return b, nil
}
