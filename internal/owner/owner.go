// Package owner resolves the user and group of a service's mountpoint root
// to numeric ids, for `datasets apply` and preseed alike. Numeric ids are
// taken as they are, as chown does: a container's uid need not be in
// /etc/passwd.
package owner

import (
	"fmt"
	"os/user"
	"strconv"

	"github.com/nixgen/nixgen/internal/rules"
)

// Lookup returns the uid of userName and the gid of groupName.
func Lookup(userName, groupName string) (uid, gid int, err error) {
	uid, err = id(userName, func(n string) (string, error) {
		u, err := user.Lookup(n)
		if err != nil {
			return "", err
		}
		return u.Uid, nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("user %q does not exist: %w", userName, err)
	}
	gid, err = id(groupName, func(n string) (string, error) {
		g, err := user.LookupGroup(n)
		if err != nil {
			return "", err
		}
		return g.Gid, nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("group %q does not exist: %w", groupName, err)
	}
	return uid, gid, nil
}

// id returns a numeric id as it is, else looks the name up.
func id(name string, lookup func(string) (string, error)) (int, error) {
	if n, ok := rules.NumericID(name); ok {
		return n, nil
	}
	s, err := lookup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}
