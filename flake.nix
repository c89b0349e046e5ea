{
  description = "nixgen: per-service ZFS datasets, restic backups, sanoid/syncoid and preseed units for NixOS, generated from HCL specs";

  # flake.lock pins nixpkgs to nixos-26.05 at a0374025a863d007d98e3297f6aa46cc3141c2f0.
  # That rev and its narHash were taken from a published lock file: node "nixpkgs"
  # of flake.lock in github.com/lightpanda-io/browser (same original URL as here).
  # `nix flake update` moves it to the branch head.
  inputs.nixpkgs.url = "github:nixos/nixpkgs/nixos-26.05";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;

      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});

      # The NAR hash of `go mod vendor`. Kept in step with go.mod by
      # `go run ./cmd/vendorhash -write` (null when go.mod requires nothing).
      vendorHash = "sha256-ll6F+hwMu4QXGcE7AOI3CjyZwtiywzwA4tqVK5oY3Xo=";

      version = "0.0.0-${self.shortRev or self.dirtyShortRev or "dirty"}";

      # Only what `go build` reads: editing docs, specs or the flake rebuilds nothing.
      # Templates are go:embed'ed, so they ship inside the binaries.
      buildFiles = [
        ./go.mod
        ./cmd
        ./internal
      ]
      ++ map lib.fileset.maybeMissing [
        ./go.sum
        ./templates
      ];
      buildSrc = lib.fileset.toSource {
        root = ./.;
        fileset = lib.fileset.unions buildFiles;
      };
      # The Go tests also read the golden corpus, the example specs and the
      # committed generated tree, and internal/flaketest reads the flake itself.
      testSrc = lib.fileset.toSource {
        root = ./.;
        fileset = lib.fileset.unions (
          buildFiles
          ++ [
            ./flake.nix
            ./flake.lock
          ]
          ++ map lib.fileset.maybeMissing [
            ./golden
            ./specs
            ./generated
            ./testdata
          ]
        );
      };

      # nixgen's go.mod needs Go 1.26; prefer the explicitly versioned builder
      # so a nixpkgs whose default Go is older fails loudly at evaluation.
      goModuleFor =
        pkgs:
        {
          pname,
          src,
          subPackages,
          doCheck,
          checkFlags ? [ ],
        }:
        (pkgs.buildGo126Module or pkgs.buildGoModule) {
          inherit
            pname
            version
            src
            vendorHash
            subPackages
            doCheck
            checkFlags
            ;
          env.CGO_ENABLED = "0";
          # Leaves out urfave/cli's man/Markdown generators: less start-up
          # work for every helper run (the Makefile uses the same tags).
          tags = [ "urfave_cli_no_docs" ];
          ldflags = [
            "-s"
            "-w"
          ];
          meta = {
            description = "Generate NixOS modules for per-service ZFS datasets, backups and preseed restores";
            homepage = "https://github.com/nixgen/nixgen";
            mainProgram = "nixgen";
            platforms = lib.platforms.linux;
          };
        };

      nixgenFor =
        pkgs:
        goModuleFor pkgs {
          pname = "nixgen";
          src = buildSrc;
          subPackages = [
            "cmd/nixgen"
            "cmd/nixgen-helper"
          ];
          # The tests run in checks.go-tests, against the whole tree.
          doCheck = false;
        };

      # Every Go test, golden files included. Skipped here: the two tests that
      # run `go mod vendor` against go.mod, which needs the module cache that
      # the sandbox does not have (they run in CI instead). Tests needing zfs,
      # restic, syncoid or nix-* skip themselves: those are not in the sandbox.
      goTestsFor =
        pkgs:
        goModuleFor pkgs {
          pname = "nixgen-go-tests";
          src = testSrc;
          subPackages = [ ];
          doCheck = true;
          checkFlags = [ "-skip=^(TestRealVendorTreeMatchesNixHash|TestVendorHashMatchesGoMod)$" ];
        };

      # Example hosts: one directory per host in the committed generated tree.
      hosts = lib.optionals (builtins.pathExists ./generated) (
        lib.attrNames (lib.filterAttrs (_: type: type == "directory") (builtins.readDir ./generated))
      );

      # The example hosts run no real services: stand in for each service's
      # unit (a script) and container (an image), as the rest of a real host
      # would, so that the generated assertions against phantom units pass.
      exampleUnits =
        host:
        let
          services = (builtins.fromJSON (builtins.readFile (./generated + "/${host}/manifest.json"))).services;
          withSuffix = suffix: s: builtins.match "(.*)[.]${suffix}" (s.unit or "");
          unitsOf =
            suffix: value:
            builtins.listToAttrs (
              map (s: {
                name = builtins.head (withSuffix suffix s);
                inherit value;
              }) (builtins.filter (s: withSuffix suffix s != null && builtins.match ".*@.*" s.unit == null) services)
            );
        in
        {
          systemd.services = unitsOf "service" { script = "exec sleep infinity"; };
          systemd.targets = unitsOf "target" { wantedBy = [ "multi-user.target" ]; };
          virtualisation.oci-containers.containers = builtins.listToAttrs (
            map (s: {
              name = s.container;
              value.image = "example/${s.container}";
            }) (builtins.filter (s: (s.container or "") != "") services)
          );
        };

      # Evaluates a minimal NixOS system around one generated host and forces
      # its toplevel derivation: option types, assertions and unit definitions
      # are all checked without building the system.
      nixosEvalFor =
        system: pkgs: host:
        let
          nixos = lib.nixosSystem {
            modules = [
              self.nixosModules.default
              (./generated + "/${host}")
              (exampleUnits host)
              {
                nixpkgs.hostPlatform = system;
                boot.loader.grub.enable = false;
                boot.supportedFilesystems = [ "zfs" ];
                fileSystems."/" = {
                  device = "rpool/root";
                  fsType = "zfs";
                };
                networking.hostId = "8425e349";
                system.stateVersion = "26.05";
              }
            ];
          };
        in
        pkgs.writeText "nixgen-nixos-eval-${host}" (
          builtins.unsafeDiscardStringContext nixos.config.system.build.toplevel.drvPath
        );
    in
    {
      packages = forAllSystems (
        system: pkgs: rec {
          nixgen = nixgenFor pkgs;
          default = nixgen;
        }
      );

      apps = forAllSystems (
        system: pkgs: {
          default = {
            type = "app";
            program = lib.getExe self.packages.${system}.nixgen;
            meta.description = "nixgen render/check/validate/fmt";
          };
        }
      );

      # generated/<host>/default.nix declares options.nixgen.helper (docs/generated.md);
      # this module only gives it a default, this flake's package. Without a
      # generated host imported the option does not exist and the module sets
      # nothing, so importing it alone is harmless.
      nixosModules.default =
        {
          lib,
          options,
          pkgs,
          ...
        }:
        {
          config = lib.optionalAttrs (options ? nixgen.helper) {
            nixgen.helper = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.nixgen;
          };
        };

      # The generated tree as a derivation, for flakes that do not commit it:
      #   imports = [ "${nixgen.lib.render { specs = ./specs; }}/forge" ];
      # `system` is where nixgen runs during evaluation (import from
      # derivation); the output is the same on every system.
      lib.render =
        {
          specs,
          system ? "x86_64-linux",
        }:
        nixpkgs.legacyPackages.${system}.runCommand "nixgen-generated"
          { nativeBuildInputs = [ self.packages.${system}.nixgen ]; }
          ''
            nixgen render --specs ${specs} --out "$out"
          '';

      checks = forAllSystems (
        system: pkgs:
        {
          go-tests = goTestsFor pkgs;
          package = self.packages.${system}.nixgen;
        }
        // lib.optionalAttrs (builtins.pathExists ./specs && builtins.pathExists ./generated) {
          generated-up-to-date = pkgs.runCommand "nixgen-generated-up-to-date" {
            nativeBuildInputs = [ self.packages.${system}.nixgen ];
          } ''nixgen check --specs ${./specs} --out ${./generated} && touch "$out"'';
        }
        // lib.listToAttrs (map (host: lib.nameValuePair "nixos-${host}" (nixosEvalFor system pkgs host)) hosts)
      );

      devShells = forAllSystems (
        system: pkgs: {
          default = pkgs.mkShell {
            packages = [
              (pkgs.go_1_26 or pkgs.go)
              pkgs.gopls
              pkgs.gotools
              pkgs.nix
              pkgs.nixfmt
              pkgs.restic
              pkgs.sanoid
            ];
          };
        }
      );

      formatter = forAllSystems (system: pkgs: pkgs.nixfmt-tree);
    };
}
