package manifest

import (
	"bytes"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func valid() *Manifest {
	return &Manifest{
		Version: Version,
		Host:    "forge",
		Parent:  Parent{Dataset: "tank/services", Pool: "tank"},
		Services: []Service{{
			Name: "app", Unit: "app.service", Dataset: "tank/services/app", Mountpoint: "/srv/app",
			User: "app", Group: "app", Mode: "0750",
			Properties:  map[string]string{"recordsize": "16K", "utf8only": "on"},
			CreateOnly:  []string{"utf8only"},
			Preseed:     &Preseed{Methods: []string{"local", "restic"}, TimeoutSeconds: 60, OnFailure: "block"},
			Backup:      &Backup{Repository: "nas", Paths: []string{"/srv/app"}},
			Replication: &Replication{Target: "recv@nas:backup/app", User: "recv", Host: "nas", Dataset: "backup/app"},
			Notify:      []string{"phone"},
		}},
		Repositories: map[string]Repository{"nas": {URL: "/mnt/restic", PasswordFile: "/run/pw"}},
		Notifiers:    map[string]Notifier{"phone": {Type: "ntfy", URL: "https://ntfy.example/x"}},
		Jobs:         []Job{{Unit: "restic-backups-app.service", Kind: JobBackup, Service: "app", Repository: "nas", Notify: []string{"phone"}}},
		Replicas:     []Replica{{Dataset: "tank/replicas/x", Source: "luna:rpool/x"}},
	}
}

func TestMarshalDecodeRoundTrip(t *testing.T) {
	m := valid()
	b, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"_generated": "`+GeneratedMarker+`"`)) {
		t.Errorf("marker missing:\n%s", b)
	}
	if m.Generated != "" {
		t.Error("Marshal modified its argument")
	}
	back, err := Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	m.Generated = GeneratedMarker
	if !reflect.DeepEqual(back, m) {
		t.Errorf("round trip changed the manifest:\n got %+v\nwant %+v", back, m)
	}
}

func TestDecodeIsStrict(t *testing.T) {
	b, _ := Marshal(valid())
	cases := map[string]string{
		"unknown field": strings.Replace(string(b), `"version"`, `"versoin": 1, "version"`, 1),
		"trailing data": string(b) + "{}",
		"malformed":     string(b[:len(b)/2]),
	}
	for name, in := range cases {
		if _, err := Decode(strings.NewReader(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestDecodeNamesBothVersions: a manifest of another version is refused
// with the version it has and the version the helper reads, even when it
// carries a field this version does not know (which the strict decoder
// would otherwise report instead).
func TestDecodeNamesBothVersions(t *testing.T) {
	b, _ := Marshal(valid())
	for _, other := range []string{`"future": true, "version": 1`, `"version": 1`} {
		in := strings.Replace(string(b), fmt.Sprintf(`"version": %d`, Version), other, 1)
		_, err := Decode(strings.NewReader(in))
		if want := fmt.Sprintf("version 1, but this nixgen-helper reads version %d", Version); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to say %q", other, err, want)
		}
	}
}

// TestOnly: the manifest of one service keeps the host, the parent, the
// service and what it names, and nothing of the other services or the
// host's jobs.
func TestOnly(t *testing.T) {
	m := valid()
	other := m.Services[0]
	other.Name, other.Unit, other.Dataset, other.Mountpoint = "db", "db.service", "tank/services/db", "/srv/db"
	other.Backup = &Backup{Repository: "s3", Repositories: []string{"s3", "nas"}, Paths: []string{"/srv/db"}}
	other.Replication, other.Notify = nil, nil
	other.PostgreSQL = &PostgreSQL{DataDir: "/srv/db/15", PITR: &PITR{Repository: "pg"}}
	m.Services = append(m.Services, other)
	m.Repositories["s3"] = Repository{URL: "s3:https://s3.example/x", PasswordFile: "/run/pw3"}
	m.Repositories["unused"] = Repository{URL: "/mnt/unused", PasswordFile: "/run/pw"}
	m.PgRepositories = map[string]PgRepository{"pg": {Type: "posix", Path: "/var/lib/pgbackrest", RetentionFull: 2}}
	m.Jobs = append(m.Jobs, Job{Unit: "restic-backups-db.service", Kind: JobBackup, Service: "db", Repository: "s3"})
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name             string
		repos, notifiers []string
		pg               bool
	}{
		{"app", []string{"nas"}, []string{"phone"}, false},
		{"db", []string{"nas", "s3"}, nil, true},
	} {
		o := m.Only(m.Service(c.name))
		if err := o.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if len(o.Services) != 1 || !reflect.DeepEqual(o.Services[0], *m.Service(c.name)) {
			t.Errorf("%s: services %+v", c.name, o.Services)
		}
		if o.Host != m.Host || o.Parent != m.Parent || o.Version != m.Version || o.Jobs != nil || o.Replicas != nil || o.Receive != nil {
			t.Errorf("%s: host-wide fields wrong: %+v", c.name, o)
		}
		if got := slices.Sorted(maps.Keys(o.Repositories)); !slices.Equal(got, c.repos) {
			t.Errorf("%s: repositories %q, want %q", c.name, got, c.repos)
		}
		if got := slices.Sorted(maps.Keys(o.Notifiers)); !slices.Equal(got, c.notifiers) {
			t.Errorf("%s: notifiers %q, want %q", c.name, got, c.notifiers)
		}
		if _, ok := o.PgRepositories["pg"]; ok != c.pg || len(o.PgRepositories) > 1 {
			t.Errorf("%s: pgBackRest repositories %v", c.name, o.PgRepositories)
		}
	}
	if m.Only(m.Service("nope")) != nil {
		t.Error("Only of a service not in the manifest is not nil")
	}
}

func TestValidateRejects(t *testing.T) {
	cases := map[string]struct {
		edit func(m *Manifest)
		want string
	}{
		"version":                {func(m *Manifest) { m.Version = 99 }, "version 99"},
		"parent not in pool":     {func(m *Manifest) { m.Parent.Pool = "rpool" }, "not in pool"},
		"dataset outside parent": {func(m *Manifest) { m.Services[0].Dataset = "tank/other/app" }, "not below parent"},
		"relative mountpoint":    {func(m *Manifest) { m.Services[0].Mountpoint = "srv/app" }, "absolute"},
		"unclean mountpoint":     {func(m *Manifest) { m.Services[0].Mountpoint = "/srv/../etc" }, "clean"},
		"mode":                   {func(m *Manifest) { m.Services[0].Mode = "rwx" }, "octal"},
		"mountpoint property":    {func(m *Manifest) { m.Services[0].Properties["mountpoint"] = "/x" }, "mountpoint belongs"},
		"create_only unknown":    {func(m *Manifest) { m.Services[0].CreateOnly = []string{"casesensitivity"} }, "create_only"},
		"unknown repository":     {func(m *Manifest) { m.Services[0].Backup.Repository = "b2" }, `repository "b2"`},
		"relative backup path":   {func(m *Manifest) { m.Services[0].Backup.Paths = []string{"data"} }, "backup path"},
		"on_failure":             {func(m *Manifest) { m.Services[0].Preseed.OnFailure = "retry" }, "on_failure"},
		"timeout":                {func(m *Manifest) { m.Services[0].Preseed.TimeoutSeconds = 0 }, "timeout_seconds"},
		"syncoid without replication": {func(m *Manifest) {
			m.Services[0].Preseed.Methods = []string{"syncoid"}
			m.Services[0].Replication = nil
		}, "needs replication"},
		"unknown method":     {func(m *Manifest) { m.Services[0].Preseed.Methods = []string{"rsync"} }, "unknown preseed method"},
		"unknown notifier":   {func(m *Manifest) { m.Services[0].Notify = []string{"pager"} }, `notifier "pager"`},
		"duplicate service":  {func(m *Manifest) { m.Services = append(m.Services, m.Services[0]) }, "duplicate name"},
		"relative password":  {func(m *Manifest) { m.Repositories["nas"] = Repository{URL: "x", PasswordFile: "pw"} }, "password_file"},
		"notifier type":      {func(m *Manifest) { m.Notifiers["phone"] = Notifier{Type: "email", URL: "https://x/"} }, "not ntfy or webhook"},
		"job kind":           {func(m *Manifest) { m.Jobs[0].Kind = "vacuum" }, "unknown kind"},
		"job service":        {func(m *Manifest) { m.Jobs[0].Service = "ghost" }, `service "ghost"`},
		"duplicate job unit": {func(m *Manifest) { m.Jobs = append(m.Jobs, m.Jobs[0]) }, "duplicate unit"},
		"replica name":       {func(m *Manifest) { m.Replicas[0].Dataset = "/tank/x" }, "not a dataset name"},

		// The spec's rules, re-run through internal/rules.
		"service name escapes":  {func(m *Manifest) { m.Services[0].Name = "../../../../var/tmp/x"; m.Jobs = nil }, `name "../../../../var/tmp/x" must start with a letter or digit`},
		"service name slash":    {func(m *Manifest) { m.Services[0].Name = "a/b"; m.Jobs = nil }, `name "a/b"`},
		"host name":             {func(m *Manifest) { m.Host = "../forge" }, `host: name "../forge"`},
		"repository name":       {func(m *Manifest) { m.Repositories["../nas"] = m.Repositories["nas"] }, `repositories.../nas: name`},
		"notifier name":         {func(m *Manifest) { m.Notifiers["a/b"] = m.Notifiers["phone"] }, `notifiers.a/b: name`},
		"parent dataset":        {func(m *Manifest) { m.Parent.Dataset = "tank/../x" }, `parent.dataset "tank/../x" is not a dataset name`},
		"dataset dotdot":        {func(m *Manifest) { m.Services[0].Dataset = "tank/services/../services/x" }, `component ".." is not allowed`},
		"dataset empty part":    {func(m *Manifest) { m.Services[0].Dataset = "tank/services//x" }, `empty component`},
		"dataset is the parent": {func(m *Manifest) { m.Services[0].Dataset = "tank/services" }, "not below parent"},
		"mountpoint root":       {func(m *Manifest) { m.Services[0].Mountpoint = "/" }, `mountpoint "/" a service dataset cannot be mounted at "/"`},
		"mountpoint etc":        {func(m *Manifest) { m.Services[0].Mountpoint = "/etc"; m.Services[0].Backup.Paths = []string{"/etc"} }, `mountpoint "/etc" that is a system directory`},
		"mountpoint in store":   {func(m *Manifest) { m.Services[0].Mountpoint = "/nix/store/x" }, "nothing may be mounted inside /nix"},
		"mountpoint in var/tmp": {func(m *Manifest) { m.Services[0].Mountpoint = "/var/tmp/srv" }, "inside /var/tmp, where users other than root can create files"},
		"backup path outside":   {func(m *Manifest) { m.Services[0].Backup.Paths = []string{"/etc/shadow"} }, `backup path "/etc/shadow" is not inside the mountpoint`},
		"unit path":             {func(m *Manifest) { m.Services[0].Unit = "../x.service" }, "not a valid systemd unit name"},
		"user":                  {func(m *Manifest) { m.Services[0].User = "Root;id" }, `user "Root;id" is not a valid name`},
		"group missing":         {func(m *Manifest) { m.Services[0].Group = "" }, `group "" is not a valid name`},
		"ssh key injection":     {func(m *Manifest) { m.Services[0].Replication.SSHKey = "/var/tmp/k;touch /var/tmp/PWNED;#" }, `contains ";", which a shell would interpret`},
		"ssh key relative":      {func(m *Manifest) { m.Services[0].Replication.SSHKey = "id_ed25519" }, "absolute"},
		"ssh key percent":       {func(m *Manifest) { m.Services[0].Replication.SSHKey = "/run/%H" }, "specifier"},
		"ssh user dollar":       {func(m *Manifest) { r := m.Services[0].Replication; r.Target, r.User = "recv$@nas:backup/app", "recv$" }, `"$", which a shell would interpret`},
		"ssh host option": {func(m *Manifest) {
			r := m.Services[0].Replication
			r.Target, r.Host = "-oProxyCommand=x:backup/app", "-oProxyCommand=x"
		}, "not a valid host name"},
		"target fields disagree": {func(m *Manifest) { m.Services[0].Replication.Host = "evil" }, "do not match the target"},
		"local target with key": {func(m *Manifest) {
			m.Services[0].Replication = &Replication{Target: "tank/backup/app", Dataset: "tank/backup/app", SSHKey: "/run/k"}
		}, "ssh_key is set for a local target"},
		"local target onto itself": {func(m *Manifest) {
			m.Services[0].Replication = &Replication{Target: "tank/services/app/x", Dataset: "tank/services/app/x"}
		}, "overlaps the service's own dataset"},
		"duplicate dataset": {func(m *Manifest) {
			s := m.Services[0]
			s.Name, s.Mountpoint, s.Backup, s.Notify = "other", "/srv/other", nil, nil
			m.Services = append(m.Services, s)
		}, `"tank/services/app" overlaps "tank/services/app" of services[0] (app)`},
		"nested dataset": {func(m *Manifest) {
			s := m.Services[0]
			s.Name, s.Dataset, s.Mountpoint, s.Backup, s.Notify = "other", "tank/services/app/inner", "/srv/other", nil, nil
			m.Services = append(m.Services, s)
		}, `"tank/services/app/inner" overlaps "tank/services/app"`},
		"nested mountpoint": {func(m *Manifest) {
			s := m.Services[0]
			s.Name, s.Dataset, s.Mountpoint, s.Backup, s.Notify = "other", "tank/services/other", "/srv/app/inner", nil, nil
			m.Services = append(m.Services, s)
		}, `"/srv/app/inner" overlaps "/srv/app"`},
		"replica onto a service": {func(m *Manifest) { m.Replicas[0].Dataset = "tank/services/app" }, `replicas[0]: "tank/services/app" overlaps`},
		"job unit escapes":       {func(m *Manifest) { m.Jobs[0].Unit = "../../../x.service" }, "not a valid systemd unit name"},
		"repository password": {func(m *Manifest) {
			m.Repositories["nas"] = Repository{URL: "rest:https://u:hunter2@h/", PasswordFile: "/run/pw"}
		}, `url "rest:https://***@h/": the URL holds a password`},
		"repository url and file": {func(m *Manifest) {
			m.Repositories["nas"] = Repository{URL: "/mnt/r", RepositoryFile: "/run/r", PasswordFile: "/run/pw"}
		}, "exactly one of url and repository_file"},
		"repository neither": {func(m *Manifest) { m.Repositories["nas"] = Repository{PasswordFile: "/run/pw"} }, "exactly one of url and repository_file"},
		"repository file": {func(m *Manifest) {
			m.Repositories["nas"] = Repository{RepositoryFile: "run/r", PasswordFile: "/run/pw"}
		}, `repository_file "run/r"`},
		"notifier auth": {func(m *Manifest) {
			m.Notifiers["phone"] = Notifier{Type: "ntfy", URL: "https://ntfy.example/x?auth=hunter2"}
		}, `url "https://ntfy.example/x?***": the query parameter "auth"`},
		"notifier userinfo": {func(m *Manifest) {
			m.Notifiers["phone"] = Notifier{Type: "ntfy", URL: "https://u:hunter2@ntfy.example/x"}
		}, "holds credentials"},
		"notifier url and file": {func(m *Manifest) {
			m.Notifiers["phone"] = Notifier{Type: "ntfy", URL: "https://n/x", URLFile: "/run/u"}
		}, "exactly one of url and url_file"},
		"notifier not http": {func(m *Manifest) { m.Notifiers["phone"] = Notifier{Type: "ntfy", URL: "file:///etc/shadow"} }, "http:// or https://"},
	}
	for name, c := range cases {
		m := valid()
		c.edit(m)
		err := m.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error prints the secret: %v", name, err)
		}
	}
	if err := valid().Validate(); err != nil {
		t.Errorf("valid manifest rejected: %v", err)
	}
}

// A repository and a notifier may name files instead of URLs.
func TestValidateAcceptsFiles(t *testing.T) {
	m := valid()
	m.Repositories["nas"] = Repository{RepositoryFile: "/run/secrets/restic-repo", PasswordFile: "/run/pw"}
	m.Notifiers["phone"] = Notifier{Type: "webhook", URLFile: "/run/secrets/hook-url", TokenFile: "/run/secrets/tok"}
	b, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"url"`)) {
		t.Errorf("an empty url is written:\n%s", b)
	}
	if _, err := Decode(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkValidate: the helper validates the whole manifest on every call
// (every notify, every preseed), so the overlap checks must not be
// quadratic in the number of services.
// benchManifest is a manifest of n services, each with a backup.
func benchManifest(n int) *Manifest {
	m := &Manifest{Version: Version, Host: "h", Parent: Parent{Dataset: "tank/s", Pool: "tank"}}
	for i := range n {
		name := fmt.Sprintf("svc%05d", i)
		m.Services = append(m.Services, Service{Name: name, Unit: name + ".service", Dataset: "tank/s/" + name,
			Mountpoint: "/srv/" + name, User: "root", Group: "root", Mode: "0750",
			Backup: &Backup{Repository: "r", Paths: []string{"/srv/" + name}}})
	}
	m.Repositories = map[string]Repository{"r": {URL: "/mnt/restic", PasswordFile: "/run/pw"}}
	return m
}

// BenchmarkDecode is what every helper command pays before it acts:
// reading and validating manifest.json, here of 1 and 901 services (a
// preseed unit's own manifest, and the whole manifest of the 900-sibling
// scene of TestProcessTimings).
func BenchmarkDecode(b *testing.B) {
	for _, n := range []int{1, 901} {
		data, err := Marshal(benchManifest(n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for range b.N {
				if _, err := Decode(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		m := benchManifest(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for range b.N {
				if err := m.Validate(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A protected host dataset may live outside the parent and have a system
// mountpoint, but never a unit, container or preseed; datasets apply never
// sees it (Managed).
func TestProtectedDatasets(t *testing.T) {
	m := valid()
	m.Services = append(m.Services, Service{Name: "home", Protect: true, Dataset: "tank/safe/home", Mountpoint: "/home",
		Backup: &Backup{Repository: "nas", Paths: []string{"/home"}}})
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := m.Managed().Services; len(got) != 1 || got[0].Name != "app" || len(m.Services) != 2 {
		t.Errorf("Managed() = %+v", got)
	}
	m.Services[1].Unit = "home.service"
	m.Services[1].Preseed = &Preseed{Methods: []string{"restic"}, TimeoutSeconds: 60, OnFailure: "block"}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "a protected dataset has no unit, container or preseed") {
		t.Errorf("err = %v", err)
	}
	m = valid()
	m.Services = append(m.Services, Service{Name: "home", Dataset: "tank/safe/home", Mountpoint: "/srv/home", User: "root", Group: "root", Mode: "0750", Unit: "home.service"})
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "not below parent") {
		t.Errorf("a managed service outside the parent: err = %v", err)
	}
}

func TestNotifierEvents(t *testing.T) {
	n := Notifier{}
	for e, want := range map[string]bool{"failure": true, "recovery": true, "preseed": true, "success": false} {
		if n.Wants(e) != want {
			t.Errorf("default Wants(%s) = %v", e, !want)
		}
	}
	n.Events = []string{"success"}
	if !n.Wants("recovery") || n.Wants("failure") {
		t.Error("a notifier of successes must hear of recoveries, and only of what it chose")
	}
	m := valid()
	m.Notifiers["phone"] = Notifier{Type: "ntfy", URL: "https://ntfy.example/x", Events: []string{"sucess"}}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), `unknown event "sucess"`) {
		t.Errorf("err = %v", err)
	}
}
