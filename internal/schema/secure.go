package schema

import (
	"path"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nixgen/nixgen/internal/model"
	"github.com/nixgen/nixgen/internal/rules"
)

// Rules that keep the root helper from being steered by other local users
// and keep secrets out of the world-readable Nix store. The rules
// themselves live in internal/rules, shared with manifest.Validate.

// timeout reads a duration that becomes a unit's TimeoutStartSec= (or a
// helper limit): absent means def; systemd counts in whole seconds, so it
// must be at least one.
func (c *checker) timeout(s string, rng hcl.Range, def time.Duration) time.Duration {
	if !set(rng) || !c.nonEmpty(s, rng, "timeout") {
		return def
	}
	d, err := parseDuration(s)
	switch {
	case err != nil:
		c.errorf(rng, "Invalid duration", "%s.", err)
		return def
	case d < time.Second:
		c.errorf(rng, "Invalid duration", "%q is shorter than one second; systemd counts time limits in whole seconds.", s)
		return def
	}
	return d
}

// oneOf checks that exactly one of two alternative attributes is set.
func (c *checker) oneOf(block hcl.Range, kind, a string, aRng hcl.Range, b string, bRng hcl.Range) bool {
	switch {
	case set(aRng) && set(bRng):
		c.errorf(bRng, "Conflicting arguments", "A %s takes %s or %s, not both.", kind, a, b)
		return false
	case !set(aRng) && !set(bRng):
		c.errorf(block, "Missing argument", "A %s needs %s or %s.", kind, a, b)
		return false
	}
	return true
}

// repositoryURL checks url and repository_file of a repository. A URL
// holding a password or token is rejected: it would be written to the
// generated files (and so to the Nix store), to manifest.json, and into the
// restic units' Environment=, which `systemctl show` prints to anyone.
func repositoryURL(c *checker, r *rawRepo) {
	if !c.oneOf(r.DefRange, "restic_repository", "url", r.URLRange, "repository_file", r.RepositoryFileRange) || !set(r.URLRange) {
		return
	}
	if !c.nonEmpty(r.URL, r.URLRange, "repository URL") {
		return
	}
	if msg := rules.RepositorySecret(r.URL); msg != "" {
		c.secretf(r.URLRange, "Secret in a repository URL", "In %q %s. Everything in a spec ends up in the world-readable Nix store, in manifest.json and in the unit's environment; put the URL into a file that only root can read and name it with repository_file instead.", rules.RedactURL(r.URL), msg)
	}
}

// notifierURL checks url and url_file of a notifier, like repositoryURL.
func notifierURL(c *checker, n *rawNotifier) {
	if !c.oneOf(n.DefRange, "notifier", "url", n.URLRange, "url_file", n.URLFileRange) || !set(n.URLRange) {
		return
	}
	if !c.httpURL(n.URL, n.URLRange) {
		return
	}
	if msg := rules.NotifierSecret(n.URL); msg != "" {
		c.secretf(n.URLRange, "Secret in a notifier URL", "In %q %s. Everything in a spec ends up in the world-readable Nix store and in manifest.json; put the URL into a file that only root can read and name it with url_file, or put an access token into token_file (sent as \"Authorization: Bearer\").", rules.RedactURL(n.URL), msg)
	}
}

// checkSharedTrees reports mountpoints inside directories where users
// other than root can create entries (rules.SharedTrees): a parent_mount
// there once, at the attribute; an explicit mountpoint at the attribute; a
// default mountpoint that lands there at the service's name. Mountpoints
// already reported as system directories are left out.
func checkSharedTrees(c *checker, raw map[string]*rawHost, hosts []*model.Host, tmpls map[string]*serviceTmpl) {
	reported := map[hcl.Range]bool{}
	for _, h := range hosts {
		rh := raw[h.Name]
		parentOK := set(rh.ParentMountRange) && c.usable(rh.ParentMountRange) && rules.AbsPath(rh.ParentMount) == ""
		parentShared := false
		if parentOK && rules.SystemMountpoint(path.Join(rh.ParentMount, "x")) == "" {
			if tree := rules.SharedTree(rh.ParentMount); tree != "" {
				parentShared = true
				c.errorf(rh.ParentMountRange, "Mountpoint where other users can write", "On host %q, parent_mount %q would hold the services' mountpoints: %s.", h.Name, rh.ParentMount, rules.SharedTreeReason(tree))
			}
		}
		for _, s := range h.Services {
			t := tmpls[s.Name]
			explicit := set(t.raw.MountpointRange)
			if explicit && !t.mountOK || !explicit && (!parentOK || parentShared) || rules.SystemMountpoint(s.Mountpoint) != "" {
				continue
			}
			tree := rules.SharedTree(s.Mountpoint)
			rng := t.raw.NameRange
			if explicit {
				rng = t.raw.MountpointRange
			}
			if tree == "" || reported[rng] {
				continue
			}
			reported[rng] = true
			c.errorf(rng, "Mountpoint where other users can write", "On host %q, service %q would be mounted at %q: %s.", h.Name, s.Name, s.Mountpoint, rules.SharedTreeReason(tree))
		}
	}
}
