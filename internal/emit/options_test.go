package emit

import (
	"sort"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/nixeval"
)

// declaredOptions is every NixOS option the templates set, with where nixpkgs
// declares it (paths in NixOS/nixpkgs). An entry is a leaf: values below it
// (unit settings, freeform sanoid keys) are not options of their own.
var declaredOptions = map[string]bool{
	// Module system itself and our own option (default.nix).
	"imports":                      true,
	"options.nixgen.helper":        true,
	"options.nixgen.externalUnits": true,
	// nixos/modules/misc/assertions.nix: assertions (listOf { assertion,
	// message }); a failed one stops the evaluation with its message.
	"assertions": true,

	// nixos/lib/systemd-unit-options.nix (commonUnitOptions, serviceOptions):
	// description, wantedBy, requiredBy, wants, requires, after, before, unitConfig,
	// restartIfChanged, reloadIfChanged, reloadTriggers, path, serviceConfig.
	"systemd.services.<name>.description":      true,
	"systemd.services.<name>.wantedBy":         true,
	"systemd.services.<name>.requiredBy":       true,
	"systemd.services.<name>.wants":            true,
	"systemd.services.<name>.requires":         true,
	"systemd.services.<name>.after":            true,
	"systemd.services.<name>.before":           true,
	"systemd.services.<name>.path":             true,
	"systemd.services.<name>.restartIfChanged": true,
	"systemd.services.<name>.reloadIfChanged":  true,
	"systemd.services.<name>.reloadTriggers":   true,
	"systemd.services.<name>.unitConfig":       true,
	// commonUnitOptions also declares onFailure and onSuccess (listOf
	// unitNameType), which NixOS renders as OnFailure=/OnSuccess=.
	"systemd.services.<name>.onFailure":     true,
	"systemd.services.<name>.onSuccess":     true,
	"systemd.services.<name>.serviceConfig": true,
	// nixos/lib/systemd-unit-options.nix: timerOptions (timerConfig) on top of
	// commonUnitOptions (wantedBy). unitConfig takes any [Unit] setting
	// (RequiresMountsFor=, systemd.unit(5)). serviceConfig
	// takes any [Service] setting: ExecStartPre=, ExecStopPost=, BindReadOnlyPaths=
	// (systemd.exec(5)), RuntimeDirectory=, RuntimeDirectoryPreserve=. Lists
	// merge by concatenation (unitOption), so lib.mkBefore/mkAfter order them
	// around the restic module's own ExecStartPre/ExecStopPost scripts.
	"systemd.timers.<name>.wantedBy":    true,
	"systemd.timers.<name>.timerConfig": true,
	"systemd.sockets.<name>.wants":      true,
	"systemd.sockets.<name>.requires":   true,
	"systemd.sockets.<name>.after":      true,
	// nixos/lib/systemd-unit-options.nix: sliceOptions (sliceConfig, any
	// [Slice] setting: MemoryMax=, CPUQuota=, IOWeight=, systemd.resource-control(5))
	// on top of commonUnitOptions (description); systemd.slices in
	// nixos/modules/system/boot/systemd.nix.
	"systemd.slices.<name>.description": true,
	"systemd.slices.<name>.sliceConfig": true,

	// nixos/modules/services/monitoring/prometheus/default.nix: ruleFiles
	// (listOf path), set under lib.mkIf config.services.prometheus.enable.
	"services.prometheus.ruleFiles": true,

	// nixos/modules/system/boot/systemd/tmpfiles.nix: rules (listOf str),
	// lines of tmpfiles.d(5).
	"systemd.tmpfiles.rules": true,

	// nixos/modules/system/activation/activation-script.nix (scriptType withDry).
	"system.activationScripts.<name>.supportsDryActivation": true,
	"system.activationScripts.<name>.text":                  true,

	// nixos/modules/services/backup/restic.nix, services.restic.backups.<name>:
	// repository, repositoryFile (nullOr path; NixOS sets RESTIC_REPOSITORY_FILE
	// and asserts that exactly one of the two is set), passwordFile,
	// environmentFile, initialize, paths, exclude, extraBackupArgs, timerConfig
	// (nullOr (attrsOf unitOption): "If null no timer is created"), pruneOpts,
	// runCheck, checkOpts, createWrapper. Its unit is "restic-backups-${name}"
	// and its preStart/postStop become ExecStartPre/ExecStopPost lists.
	"services.restic.backups.<name>.repository":      true,
	"services.restic.backups.<name>.repositoryFile":  true,
	"services.restic.backups.<name>.passwordFile":    true,
	"services.restic.backups.<name>.environmentFile": true,
	"services.restic.backups.<name>.initialize":      true,
	"services.restic.backups.<name>.paths":           true,
	"services.restic.backups.<name>.exclude":         true,
	"services.restic.backups.<name>.extraBackupArgs": true,
	"services.restic.backups.<name>.timerConfig":     true,
	"services.restic.backups.<name>.pruneOpts":       true,
	"services.restic.backups.<name>.runCheck":        true,
	"services.restic.backups.<name>.checkOpts":       true,
	"services.restic.backups.<name>.createWrapper":   true,

	// nixos/modules/services/backup/sanoid.nix: enable, interval,
	// templates.<name> (freeform; hourly/daily/monthly/yearly/autosnap/autoprune
	// declared, frequently/weekly are sanoid.conf keys), datasets.<name>.useTemplate
	// (alias of use_template), datasets.<name>.recursive.
	"services.sanoid.enable":                      true,
	"services.sanoid.interval":                    true,
	"services.sanoid.templates.<name>":            true,
	"services.sanoid.datasets.<name>.useTemplate": true,
	"services.sanoid.datasets.<name>.recursive":   true,

	// nixos/modules/services/backup/syncoid.nix: enable,
	// commands.<name>.{source,target,sendOptions,recvOptions,sshKey,extraArgs,service}
	// (service is types.attrs, mkMerge'd after the module's own unit, which sets
	// startAt = cfg.interval: lib.mkForce [ ] removes that timer; startAt is
	// serviceOptions' `either str (listOf str)`, default [ ], in
	// nixos/lib/systemd-unit-options.nix, and no timer is made for [ ]). The unit is
	// "syncoid-${escapeUnitName name}" (runs of [^a-zA-Z0-9_.-] become "-").
	// sanoid.nix defines systemd.services.sanoid.
	"services.syncoid.enable":                      true,
	"services.syncoid.commands.<name>.source":      true,
	"services.syncoid.commands.<name>.target":      true,
	"services.syncoid.commands.<name>.sendOptions": true,
	"services.syncoid.commands.<name>.recvOptions": true,
	"services.syncoid.commands.<name>.sshKey":      true,
	"services.syncoid.commands.<name>.extraArgs":   true,
	"services.syncoid.commands.<name>.service":     true,

	// nixos/modules/services/databases/postgresql.nix: dataDir (types.path),
	// settings (attrsOf (oneOf [ bool float int str ]), freeform in newer
	// releases; strings are single-quoted by the module).
	"services.postgresql.dataDir":  true,
	"services.postgresql.settings": true,

	// nixos/modules/services/backup/pgbackrest.nix: enable, repos.<name>
	// (freeform settingsType plus host/sftp-host; each becomes repoN-<key>
	// in the global section, N by sorted name), stanzas.<name>.instances.<name>
	// (freeform, pgN-<key>; "localhost" unsets pg-host) and
	// stanzas.<name>.jobs.<name>.{schedule,type} (unit and timer
	// "pgbackrest-<stanza>-<job>", User=pgbackrest, ExecStartPre stanza-create).
	// With services.postgresql enabled it sets archive_command (normal
	// priority, for its "default" stanza) and archive_mode (mkDefault).
	"services.pgbackrest.enable":                              true,
	"services.pgbackrest.repos.<name>":                        true,
	"services.pgbackrest.stanzas.<name>.instances":            true,
	"services.pgbackrest.stanzas.<name>.jobs.<name>.schedule": true,
	"services.pgbackrest.stanzas.<name>.jobs.<name>.type":     true,
	// nixos/modules/system/etc/etc.nix: environment.etc (attrsOf submodule,
	// keyed by the path below /etc) with source ("Path of the source file"),
	// which NixOS links to /etc/<name>.
	"environment.etc.<name>.source": true,
}

// namedSets are attribute sets whose keys are names chosen by the spec.
var namedSets = map[string]bool{
	"systemd.services": true, "systemd.sockets": true, "systemd.timers": true, "systemd.slices": true, "system.activationScripts": true,
	"services.restic.backups": true, "services.sanoid.templates": true,
	"services.sanoid.datasets": true, "services.syncoid.commands": true,
	"services.pgbackrest.repos": true, "services.pgbackrest.stanzas": true,
	"services.pgbackrest.stanzas.<name>.jobs": true, "environment.etc": true,
}

// optionPaths lists the option paths a module's value sets.
func optionPaths(prefix string, v any, used map[string]bool) {
	if declaredOptions[prefix] {
		used[prefix] = true
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		used[prefix] = true // a value at a path that is not a declared option
		return
	}
	for k, sub := range m {
		seg := k
		if namedSets[prefix] {
			seg = "<name>"
		}
		p := seg
		if prefix != "" {
			p = prefix + "." + seg
		}
		optionPaths(p, sub, used)
	}
}

// TestTemplatesUseDeclaredOptions evaluates a tree that uses every feature and
// fails on any option path missing from declaredOptions.
func TestTemplatesUseDeclaredOptions(t *testing.T) {
	spec := mixedSpec()
	spec.Repositories[0].URL = "rest:https://backup host/forge" // needs createWrapper = false
	// A URL with "%" goes through repositoryFile.
	pct := *spec.Repositories[0]
	pct.Name, pct.URL = "pct", "rest:https://backup/f%40rge"
	spec.Repositories = append(spec.Repositories, &pct)
	spec.Hosts[0].Services[1].Backup.Repositories = []string{"pct"}
	out := Render(spec)
	v := nixeval.Host(t, spec, out)
	used := map[string]bool{}
	for _, f := range []string{"default", "datasets", "protection", "monitoring"} {
		optionPaths("", nixeval.Get(t, v, f), used)
	}
	for _, mod := range nixeval.Get(t, v, "services").(map[string]any) {
		optionPaths("", mod, used)
	}
	var undeclared []string
	for p := range used {
		if !declaredOptions[p] {
			undeclared = append(undeclared, p)
		}
	}
	sort.Strings(undeclared)
	if len(undeclared) > 0 {
		t.Errorf("options not in declaredOptions (check nixpkgs, then add them with a citation):\n  %s", strings.Join(undeclared, "\n  "))
	}
	if len(used) < 40 {
		t.Errorf("only %d option paths used; the spec should exercise every template branch", len(used))
	}
}
