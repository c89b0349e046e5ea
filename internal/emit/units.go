package emit

import (
	"path"
	"sort"
	"strings"
	"time"

	"github.com/nixgen/nixgen/internal/hostfacts"
	"github.com/nixgen/nixgen/internal/manifest"
	"github.com/nixgen/nixgen/internal/model"
)

// The names of generated units and the runtime paths they share with
// nixgen-helper come from internal/hostfacts.

// Time limits of the generated units (TimeoutStartSec=). Oneshot units have
// none unless one is set, and one hung job would otherwise hold the lock
// its partner waits for, or keep a timer from ever firing again.
const (
	// datasetsTimeout bounds nixgen-datasets.service: apply waits up to
	// hostfacts.LockWait for another apply's lock, and each zfs call is
	// bounded by the helper's --zfs-timeout (10 minutes).
	datasetsTimeout = hostfacts.LockWait + 20*time.Minute
	// notifyTimeout bounds a notify unit: per notifier 3 attempts of at most
	// 10 s with 1 s and 2 s pauses, and a journal excerpt and a systemctl
	// call of at most 15 s each per step.
	notifyTimeout = 10 * time.Minute
	// lockMargin is added around the lock waits of the backup and
	// replication wrappers: for the other job's stop (its TimeoutStopSec and
	// the snapshot release after a backup) and for a start queued behind it.
	lockMargin = 15 * time.Minute
	// metricsTimeout bounds nixgen-metrics.service: three zpool calls and
	// one zfs get, each also bounded by the helper's --zfs-timeout.
	metricsTimeout = 10 * time.Minute
	// drillMargin lets restore-test stop itself at its --timeout, remove
	// its scratch directory and report, before systemd's limit kills it.
	drillMargin = 5 * time.Minute
)

// seconds is d as a whole number of seconds, rounded up, for systemd.
func seconds(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }

// homeTrees are what ProtectHome= hides or makes read-only.
var homeTrees = []string{"/home", "/root", "/run/user"}

func underHome(p string) bool {
	for _, t := range homeTrees {
		if p == t || strings.HasPrefix(p, t+"/") {
			return true
		}
	}
	return false
}

// protectHome reports whether a restic unit of repository r that reads
// paths can run with ProtectHome=read-only: not when it writes below a home
// tree (a local repository there; rclone, which may rewrite
// ~/.config/rclone/rclone.conf when it refreshes a token), when the
// backend cannot be known (repository_file), or when it reads a mountpoint
// there through the backup's bind mount.
func protectHome(r *model.Repository, paths ...string) bool {
	if r.RepositoryFile != "" || strings.HasPrefix(r.URL, "rclone:") {
		return false
	}
	if local := strings.TrimPrefix(r.URL, "local:"); strings.HasPrefix(local, "/") && underHome(local) {
		return false
	}
	for _, p := range paths {
		if underHome(p) {
			return false
		}
	}
	return true
}

// localRepoPath returns the directory of a repository on a local path
// ("/mnt/nas/restic" or "local:/mnt/nas/restic"), "" for other backends
// and for a repository_file (unknown until run time). Units that use the
// repository get RequiresMountsFor= on it: with the NAS not mounted they
// fail instead of reading or initialising the bare directory below.
func localRepoPath(r *model.Repository) string {
	if p := strings.TrimPrefix(r.URL, "local:"); strings.HasPrefix(p, "/") {
		return p
	}
	return ""
}

// containerUnitPrefix is the Nix text that starts the unit name of an OCI
// container: NixOS's oci-containers module names it after its backend.
const containerUnitPrefix = "${config.virtualisation.oci-containers.backend}-"

// nixUnitKey is the attribute name of the service's own unit under its
// systemd.* set (without the suffix), as a Nix string expression.
func nixUnitKey(sv *serviceView) (string, error) {
	if sv.S.Container != "" {
		body, err := nixStringBody(sv.S.Container)
		return `"` + containerUnitPrefix + body + `"`, err
	}
	return nixString(sv.MainName)
}

// nixUnit is the service's own unit name, as a Nix string expression.
func nixUnit(sv *serviceView) (string, error) {
	if sv.S.Container != "" {
		body, err := nixStringBody(sv.S.Container)
		return `"` + containerUnitPrefix + body + `.service"`, err
	}
	return nixString(sv.S.Unit)
}

// nixUnitAttr is the attribute path of the service's own unit below
// systemd ("services.sonarr", `services."${…backend}-radarr"`).
func nixUnitAttr(sv *serviceView) (string, error) {
	if sv.S.Container != "" {
		key, err := nixUnitKey(sv)
		return sv.MainOption + "." + key, err
	}
	return nixAttrPath(sv.MainOption, sv.MainName)
}

// receiveUser is a system user that other hosts' syncoid logs in as to
// push replicas, with the senders' public keys it authorizes.
type receiveUser struct {
	Name string
	Keys []string // authorized_keys lines: "restrict <type> <base64>"
}

// receiversOn returns the receive users of h and the manifest's receive
// entries (parent dataset, user) for the replicas other hosts push to it.
func receiversOn(replicas []model.Replica) ([]receiveUser, []manifest.Receive) {
	keys := map[string]map[string]bool{}
	recv := map[manifest.Receive]bool{}
	for _, r := range replicas {
		if r.User == "" {
			continue
		}
		if keys[r.User] == nil {
			keys[r.User] = map[string]bool{}
		}
		if r.Key != "" {
			// restrict: no port, agent or X11 forwarding, no pty, no ~/.ssh/rc.
			keys[r.User]["restrict "+r.Key] = true
		}
		recv[manifest.Receive{Parent: path.Dir(r.Dataset), User: r.User}] = true
	}
	var users []receiveUser
	for _, u := range sortedKeys(keys) {
		users = append(users, receiveUser{Name: u, Keys: sortedKeys(keys[u])})
	}
	var out []manifest.Receive
	for r := range recv {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Parent != out[j].Parent {
			return out[i].Parent < out[j].Parent
		}
		return out[i].User < out[j].User
	})
	return users, out
}

// knownHost is a programs.ssh.knownHosts entry: a replication target whose
// host key the specs give.
type knownHost struct {
	Name      string // attribute name
	HostNames []string
	Key       string
}

// knownHostsFor pins the host key of every remote target that h's services
// replicate to: for a host of the specs under its name and addresses, for
// another machine under the target's host part.
func knownHostsFor(spec *model.Spec, services []*model.Service) []knownHost {
	byName := map[string]*knownHost{}
	for _, s := range services {
		r := s.Replication
		if r == nil || r.TargetHost == "" || r.KnownHostKey == "" {
			continue
		}
		k := &knownHost{Name: "nixgen-" + strings.ToLower(r.TargetHost), HostNames: []string{r.TargetHost}, Key: r.KnownHostKey}
		if r.Receiver != "" {
			k.Name = "nixgen-" + r.Receiver
			k.HostNames = []string{r.Receiver}
			for _, h := range spec.Hosts {
				if h.Name == r.Receiver {
					k.HostNames = append(k.HostNames, h.Addresses...)
				}
			}
		}
		byName[k.Name] = k
	}
	var out []knownHost
	for _, n := range sortedKeys(byName) {
		out = append(out, *byName[n])
	}
	return out
}
