package mailin

import (
	"bytes"
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
// two seconds are left alone; so are symbolic links, folders, named pipes
// and other files that are not regular, and files modified in the future,
// each logged once. A file already in done/ or rejected/ is never replaced.
// Use one Inbox per folder, from one goroutine.
type Inbox struct {
	dir      string
	p        *Processor
	log      *slog.Logger
	now      func() time.Time
	attempts map[string]int
	skipped  map[string]string // name → why it is left alone, as logged
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
	return &Inbox{dir: dir, p: p, log: log, now: time.Now, attempts: map[string]int{}, skipped: map[string]string{}}, nil
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
		if strings.HasPrefix(name, ".") || e.IsDir() && (name == DoneDir || name == RejectedDir) {
			continue
		}
		if why := skipReason(e); why != "" {
			b.skip(ctx, name, why)
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone since listed
		}
		if age := b.now().Sub(info.ModTime()); age < -settleTime {
			b.skip(ctx, name, "modified in the future ("+info.ModTime().UTC().Format(time.RFC3339)+
				"): left alone until then, or until its time is corrected (touch it)")
			continue
		} else if age < settleTime {
			continue // maybe still being written
		}
		delete(b.skipped, name)
		if b.file(ctx, name, info.Size()) {
			moved++
		}
	}
	listed := func(name string) bool {
		return slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return e.Name() == name })
	}
	for name := range b.attempts { // forget files that went away
		if !listed(name) {
			delete(b.attempts, name)
		}
	}
	for name := range b.skipped {
		if !listed(name) {
			delete(b.skipped, name)
		}
	}
	return moved, nil
}

// skipReason says why the inbox leaves entry e alone for good, "" for a
// regular file.
func skipReason(e fs.DirEntry) string {
	t := e.Type()
	switch {
	case t.IsRegular():
		return ""
	case t&fs.ModeSymlink != 0:
		return "a symbolic link: not followed, drop the message itself"
	case t.IsDir():
		return "a folder: only files are read, one message each"
	case t&fs.ModeNamedPipe != 0:
		return "not a regular file (named pipe)"
	case t&fs.ModeSocket != 0:
		return "not a regular file (socket)"
	case t&fs.ModeDevice != 0:
		return "not a regular file (device)"
	default:
		return "not a regular file (" + t.String() + ")"
	}
}

// skip logs, once per file and reason, that the file name is left alone.
func (b *Inbox) skip(ctx context.Context, name, why string) {
	if b.skipped[name] == why {
		return
	}
	b.skipped[name] = why
	b.log.WarnContext(ctx, "mailin: inbox: skipped", "file", filepath.Join(b.dir, name), "reason", why)
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

// move files name under done/ or rejected/ (with its reason), under a name
// where nothing is: it never replaces a file there (issue 14 §6). A
// rejected file's reason file is created first, exclusively, then the file
// linked beside it, so that both names are free and stay together.
func (b *Inbox) move(name string, out Outcome) error {
	sub := DoneDir
	if out.Kind != KindStored && out.Kind != KindDuplicate {
		sub = RejectedDir
	}
	src := filepath.Join(b.dir, name)
	for i := 0; i < maxNameTries; i++ {
		target := filepath.Join(b.dir, sub, name)
		if i > 0 {
			target += "." + strconv.Itoa(i)
		}
		var reasonFile string
		if sub == RejectedDir {
			reasonFile = target + reasonSuffix
			err := writeNew(reasonFile, string(out.Kind)+": "+out.Reason+"\n")
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			if err != nil {
				return err
			}
		}
		err := moveNoReplace(src, target)
		if err == nil {
			return nil
		}
		if reasonFile != "" {
			os.Remove(reasonFile) // ours, just created
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return fmt.Errorf("mailin: inbox: no free name for %s in %s after %d tries", name, sub, maxNameTries)
}

// maxNameTries bounds the names move tries (name, name.1, name.2…).
const maxNameTries = 10000

// writeNew creates path with text, failing with fs.ErrExist when
// something is there.
func writeNew(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// moveNoReplace renames src to dst unless something is at dst (then an
// error wrapping fs.ErrExist): a hard link, which never replaces (POSIX
// link(2)), then the removal of src; os.Rename would replace dst. On a file
// system without hard links it checks dst is free, then renames.
func moveNoReplace(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil {
		return os.Remove(src)
	}
	if errors.Is(err, fs.ErrExist) {
		return err
	}
	if _, lerr := os.Lstat(dst); !errors.Is(lerr, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", dst, fs.ErrExist)
	}
	return os.Rename(src, dst)
}

// readFile reads at most max bytes of a file.
func readFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Sized from the file, so that a large message is not copied while
	// the buffer grows (io.ReadAll would allocate about twice its size).
	var buf bytes.Buffer
	if info, err := f.Stat(); err == nil && info.Size() < max {
		buf.Grow(int(info.Size()) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return nil, err
	}
	// A file that grew past max since it was listed: Process refuses it.
	return buf.Bytes(), nil
}
