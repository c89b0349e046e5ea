package rules

import (
	"fmt"
	"net"
	"regexp"
	"strings"
)

// Values that reach a shell. syncoid builds its ssh command as one string
// ("ssh $sshoptions -i $sshkey ...") and hands it, with the target, to
// sh -c without quoting (syncoid 2.1: `system("$sshcmd ...")`,
// `open FH, "$sshcmd ... |"`), and NixOS's syncoid module puts --sshkey and
// extra arguments into ExecStart=, where systemd also reads backslash
// escapes, $VARIABLES and % specifiers. The one allow-list below is what
// every such value must consist of: characters that no shell (POSIX sh,
// bash) and no systemd command line treats specially, wherever they stand
// in a word. It leaves out white space, quotes, \ $ ` ; & | < > ( ) { } [ ]
// * ? ! ~ # ^ and every control or non-ASCII character.
const shellSafeChars = "_.,:/@%+=-"

func shellSafe(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(shellSafeChars, r)
}

// ShellWord checks a value that syncoid pastes into a shell command line.
func ShellWord(s string) string {
	if s == "" {
		return "is empty"
	}
	for _, r := range s {
		if !shellSafe(r) {
			return fmt.Sprintf("contains %s, which a shell would interpret: syncoid pastes it into a command line for sh -c without quoting; use only letters, digits and %q", quoteChar(r), shellSafeChars)
		}
	}
	return ""
}

// SSHKey checks an ssh key path: absolute and clean, shell-safe, and
// without "%", which systemd expands in the ExecStart= NixOS writes.
func SSHKey(p string) string {
	if msg := AbsPath(p); msg != "" {
		return msg
	}
	if msg := ShellWord(p); msg != "" {
		return msg
	}
	if strings.Contains(p, "%") {
		return "contains \"%\", which systemd would expand as a specifier in the command line NixOS writes"
	}
	return ""
}

var sshOptionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)

// SSHOption checks an ssh option given as "Name=value" (ssh -o, syncoid
// --sshoption).
func SSHOption(opt string) string {
	name, value, ok := strings.Cut(opt, "=")
	if !ok || !sshOptionName.MatchString(name) {
		return "is not Name=value with a name of letters and digits"
	}
	if msg := ShellWord(value); msg != "" {
		return "has a value that " + msg
	}
	return ""
}

var hostnameRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

// Host checks a host name or address that reaches ssh and syncoid's shell
// (a replication target's host, a host's addresses): a DNS name (labels of
// letters, digits and inner "-") or an IPv4 address, so it never starts with
// "-" and reads as an ssh option.
func Host(h string) string {
	if ip := net.ParseIP(h); (ip == nil || ip.To4() == nil) && (!hostnameRe.MatchString(h) || len(h) > 253) {
		return "is not a valid host name or IPv4 address"
	}
	return ShellWord(h)
}

// ParseTarget splits a replication target, "[user@]host:pool/dataset" or a
// local "pool/dataset", and checks each part: the user is a unix name, the
// host a DNS name or IPv4 address (so it never starts with "-" and reads
// as an ssh option), the dataset a valid name, and the user and host pass
// ShellWord, since syncoid hands them to a shell. A colon before the first
// slash marks a remote target; pool names cannot contain colons, while
// later dataset components may.
func ParseTarget(s string) (user, host, dataset, problem string) {
	colon, slash := strings.IndexByte(s, ':'), strings.IndexByte(s, '/')
	if colon < 0 || (slash >= 0 && slash < colon) {
		if msg := DatasetName(s); msg != "" {
			return "", "", "", "the local target dataset is invalid: " + msg
		}
		return "", "", s, ""
	}
	userHost, dataset := s[:colon], s[colon+1:]
	host = userHost
	if u, h, ok := strings.Cut(userHost, "@"); ok {
		user, host = u, h
		if UnixName(user) != "" {
			return "", "", "", fmt.Sprintf("the ssh user %q is not a valid user name", user)
		}
		if msg := ShellWord(user); msg != "" {
			return "", "", "", fmt.Sprintf("the ssh user %q %s", user, msg)
		}
	}
	if host == "" {
		return "", "", "", "the host is empty"
	}
	if msg := Host(host); msg != "" {
		return "", "", "", fmt.Sprintf("the host %q %s", host, msg)
	}
	if msg := DatasetName(dataset); msg != "" {
		return "", "", "", "the target dataset is invalid: " + msg
	}
	return user, host, dataset, ""
}
