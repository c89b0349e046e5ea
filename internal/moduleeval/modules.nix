# A small stand-in for NixOS's module system (lib.evalModules), enough to
# evaluate a generated host module together with a few modules that play
# the rest of the host: imports, `options` with defaults, config as a
# fixpoint, mkIf/mkMerge/mkOverride (mkDefault, mkForce)/mkOrder (mkBefore,
# mkAfter), lists concatenated in order, attribute sets merged, conflicting
# values an error, and NixOS's assertions: a failed one stops the
# evaluation with "Failed assertions:" and its message, as NixOS does.
# nixpkgs is not needed (nor available offline); what NixOS's own modules
# would add (option types, unit defaults) is not modelled.
{ modules, pkgs }:
let
  isType = t: v: builtins.isAttrs v && (v._type or null) == t;
  lib = rec {
    mkIf = cond: content: { _type = "if"; inherit cond content; };
    mkMerge = contents: { _type = "merge"; inherit contents; };
    mkOverride = priority: content: { _type = "override"; inherit priority content; };
    mkDefault = mkOverride 1000;
    mkForce = mkOverride 50;
    mkOrder = priority: content: { _type = "order"; inherit priority content; };
    mkBefore = mkOrder 500;
    mkAfter = mkOrder 1500;
    mkOption = attrs: attrs // { _type = "option"; };
    types = { package = "package"; str = "str"; listOf = t: "listOf"; };
  };

  args = { inherit lib pkgs config; };
  load = m:
    let
      f = if builtins.isFunction m || builtins.isAttrs m then m else import m;
      v = if builtins.isFunction f then f args else f;
    in [ v ] ++ builtins.concatMap load (v.imports or [ ]);
  all = builtins.concatMap load modules;

  # Option declarations become definitions of their defaults.
  optionDefaults = o:
    if isType "option" o then (if o ? default then lib.mkOverride 1500 o.default else null)
    else builtins.mapAttrs (_: optionDefaults) o;
  defsOf = v:
    [ (if v ? config then v.config else removeAttrs v [ "imports" "options" ]) ]
    ++ (if v ? options then [ (optionDefaults v.options) ] else [ ]);
  defs = builtins.concatMap defsOf all;

  expand = d:
    if d == null then [ ]
    else if isType "if" d then (if d.cond then expand d.content else [ ])
    else if isType "merge" d then builtins.concatMap expand d.contents
    else [ d ];
  priority = d: if isType "override" d then d.priority else 100;
  order = d: if isType "order" d then d.priority else 1000;
  strip = d: if isType "override" d || isType "order" d then strip d.content else d;
  plainSet = v: builtins.isAttrs v && !(v ? _type);

  merge = path: ds:
    let
      expanded = builtins.concatMap expand ds;
      best = builtins.foldl' (p: d: if priority d < p then priority d else p) 1501 expanded;
      kept = builtins.filter (d: priority d == best) expanded;
      sorted = builtins.sort (a: b: order a < order b) (map (d: if isType "override" d then d.content else d) kept);
      values = builtins.concatMap (d: expand (strip d)) sorted;
      names = builtins.foldl' (acc: v: acc // builtins.mapAttrs (_: _: null) v) { } values;
    in
    if values == [ ] then throw "moduleeval: ${path} has no value"
    else if builtins.all plainSet values then
      builtins.mapAttrs (n: _: merge "${path}.${n}" (builtins.concatMap (v: if v ? ${n} then [ v.${n} ] else [ ]) values)) names
    else if builtins.all builtins.isList values then builtins.concatLists values
    else if builtins.all (v: v == builtins.head values) values then builtins.head values
    else throw "moduleeval: conflicting definitions of ${path}";

  config = merge "config" defs;

  failed = builtins.filter (a: !a.assertion) (config.assertions or [ ]);
in
if failed != [ ] then
  throw "\nFailed assertions:\n${builtins.concatStringsSep "\n" (map (a: "- ${a.message}") failed)}"
else config
