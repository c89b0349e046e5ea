package rules

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// AbsPath checks an absolute, clean path. Any other character is allowed.
func AbsPath(s string) string {
	if !strings.HasPrefix(s, "/") {
		return "must be an absolute path (starting with \"/\")"
	}
	if c := path.Clean(s); c != s {
		return fmt.Sprintf("is not in clean form; write %q (no trailing slash, \"//\", \".\" or \"..\")", c)
	}
	return ""
}

// systemDirs are directories a service dataset must never be mounted on:
// it would hide the system's own files.
var systemDirs = []string{"/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/mnt", "/nix", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/var/cache", "/var/empty", "/var/lib", "/var/log", "/var/tmp"}

// systemTrees are trees whose contents belong to the system (the Nix store,
// kernel file systems, tmpfs): nothing may be mounted anywhere inside them.
var systemTrees = []string{"/boot", "/dev", "/nix", "/proc", "/run", "/sys", "/tmp"}

// SharedTrees are directories that users other than root can create
// entries in: world-writable with the sticky bit (/tmp, /var/tmp,
// /dev/shm, /dev/mqueue, /run/lock and its alias /var/lock on many
// distributions) or owned by each user (/run/user/<uid>). Any local user
// can put a symlink or a directory at a path inside them before the dataset
// exists, and nixgen-helper, which runs as root, would mount the dataset
// and change owners and modes through it. Some of them are also system
// trees; the list names them all so the reason is the right one.
var SharedTrees = []string{"/dev/mqueue", "/dev/shm", "/run/lock", "/run/user", "/tmp", "/var/lock", "/var/tmp"}

// SystemMountpoint returns why a dataset must not be mounted at mp: on a
// system directory, or anywhere inside a system tree.
func SystemMountpoint(mp string) string {
	if mp == "/" {
		return "a service dataset cannot be mounted at \"/\""
	}
	if slices.Contains(systemDirs, mp) {
		return "that is a system directory, and mounting a dataset there would hide its contents"
	}
	for _, t := range systemTrees {
		if Within(mp, t, "/") {
			return fmt.Sprintf("nothing may be mounted inside %s", t)
		}
	}
	return ""
}

// SharedTree returns the tree of SharedTrees that p lies in (or is), or "".
func SharedTree(p string) string {
	for _, t := range SharedTrees {
		if Within(p, t, "/") {
			return t
		}
	}
	return ""
}

// SharedTreeReason explains a mountpoint inside tree.
func SharedTreeReason(tree string) string {
	return fmt.Sprintf("that is inside %s, where users other than root can create files: a local user could put a symlink or directory there before the dataset is mounted, and nixgen-helper (running as root) would mount the dataset and change owners and modes through it", tree)
}

// Mountpoint applies every rule of a service mountpoint: absolute and
// clean, not "/", not a system directory or inside a system tree, and not
// inside a tree other users can write to.
func Mountpoint(mp string) string {
	if msg := AbsPath(mp); msg != "" {
		return msg
	}
	if msg := SystemMountpoint(mp); msg != "" {
		return msg
	}
	if t := SharedTree(mp); t != "" {
		return SharedTreeReason(t)
	}
	return ""
}
