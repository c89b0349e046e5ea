// Package restic runs the restic program against a repository of the
// manifest: the environment comes from the repository's settings (its
// environment file parsed without a shell, then the manifest's URL — or
// the content of its repository_file — and password file, which win),
// every call is an argument vector, and a
// timeout or cancellation reaches restic and its children (rclone, ssh)
// through their process group: SIGTERM first, SIGKILL after a grace period.
//
// restic's exit code 3 ("some source data could not be read" for backup,
// "some files could not be restored" for restore) is an error like any other
// here: a backup or restore that is incomplete must never look successful.
package restic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/proc"
	"github.com/nixgen/nixgen/internal/rules"
)

// ExitIncomplete is restic's exit code for a run that finished but could not
// read (backup) or write (restore) some files.
const ExitIncomplete = 3

// DefaultGrace is the time between SIGTERM and SIGKILL after a timeout.
const DefaultGrace = proc.DefaultGrace

// Runner runs restic for one repository.
type Runner struct {
	// Command is the program and any leading arguments; restic's own
	// arguments follow. Default: "restic" on PATH.
	Command []string
	Env     []string // full environment of the process
	Grace   time.Duration

	url string // the repository, redacted wherever restic's stderr quotes it
}

// New returns a Runner for repo, with the environment of Environ.
func New(repo manifest.Repository, command ...string) (*Runner, error) {
	env, url, err := environ(repo)
	if err != nil {
		return nil, err
	}
	return &Runner{Command: command, Env: env, url: url}, nil
}

// Environ is the environment restic runs with for repo: the current
// environment, then the repository's environment file, then
// RESTIC_REPOSITORY (from RepositoryURL) and RESTIC_PASSWORD_FILE. Other
// ways of naming the repository or its password, from the helper's
// environment or the environment file, are dropped: restic refuses some
// combinations, and the manifest's must win.
func Environ(repo manifest.Repository) ([]string, error) {
	env, _, err := environ(repo)
	return env, err
}

func environ(repo manifest.Repository) (env []string, url string, err error) {
	env = withoutRepoVars(os.Environ())
	if repo.EnvironmentFile != "" {
		fileEnv, err := ReadEnvFile(repo.EnvironmentFile)
		if err != nil {
			return nil, "", err
		}
		env = append(env, withoutRepoVars(fileEnv)...)
	}
	if url, err = RepositoryURL(repo); err != nil {
		return nil, "", err
	}
	return append(env, "RESTIC_REPOSITORY="+url, "RESTIC_PASSWORD_FILE="+repo.PasswordFile), url, nil
}

func withoutRepoVars(env []string) []string {
	var out []string
	for _, kv := range env {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "RESTIC_REPOSITORY", "RESTIC_REPOSITORY_FILE", "RESTIC_PASSWORD", "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// RepositoryURL returns the repository string of repo: its url, or the
// content of its repository_file, read now. The file decides where backups
// are restored from, so it must not be writable by anyone but root (or the
// user running the helper): a file that another user could rewrite would
// let that user point a restore at a repository of theirs.
func RepositoryURL(repo manifest.Repository) (string, error) {
	if repo.RepositoryFile == "" {
		return repo.URL, nil
	}
	f, err := os.Open(repo.RepositoryFile)
	if err != nil {
		return "", fmt.Errorf("repository_file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("repository_file: %w", err)
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	switch {
	case !st.Mode().IsRegular():
		return "", fmt.Errorf("repository_file %s is not a regular file", repo.RepositoryFile)
	case st.Mode().Perm()&0o022 != 0:
		return "", fmt.Errorf("repository_file %s is writable by group or others (mode %04o); make it root-only", repo.RepositoryFile, st.Mode().Perm())
	case sys == nil || (sys.Uid != 0 && int(sys.Uid) != os.Geteuid()):
		return "", fmt.Errorf("repository_file %s is not owned by root", repo.RepositoryFile)
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", fmt.Errorf("repository_file: %w", err)
	}
	url := strings.TrimSpace(string(b))
	if url == "" || strings.ContainsAny(url, "\n\r\x00") {
		return "", fmt.Errorf("repository_file %s must hold one line: the repository", repo.RepositoryFile)
	}
	return url, nil
}

// Error is a failed restic call (the helper's one error type).
type Error = proc.Error

// Incomplete reports whether err is a restic run that exited with code 3.
func Incomplete(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.ExitCode == ExitIncomplete
}

// Output runs restic with args and returns its standard output.
func (r *Runner) Output(ctx context.Context, args ...string) ([]byte, error) {
	var out bytes.Buffer
	err := r.Run(ctx, &out, args...)
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Run runs restic with args, its standard output going to stdout (nil
// discards it). Any exit code other than 0, 3 included, is an *Error.
func (r *Runner) Run(ctx context.Context, stdout io.Writer, args ...string) error {
	argv := append(append([]string{}, r.Command...), args...)
	if len(r.Command) == 0 {
		argv = append([]string{"restic"}, args...)
	}
	if stdout == nil {
		stdout = io.Discard
	}
	c := proc.Cmd{Argv: argv, Env: r.Env, Stdout: stdout, Grace: r.Grace}
	if r.url != "" {
		c.Redact = func(s string) string { return strings.ReplaceAll(s, r.url, rules.RedactURL(r.url)) }
	}
	_, err := c.Run(ctx)
	if e, ok := err.(*Error); ok && e.ExitCode == ExitIncomplete {
		e.Hint = "incomplete, some files could not be read or written"
	}
	return err
}
