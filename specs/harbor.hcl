# A host whose apps run as OCI containers (virtualisation.oci-containers),
# with an offsite copy of the critical data and an impermanent root whose
# /persist dataset nixgen protects but does not manage.

host "harbor" {
  parent_dataset  = "rpool/services"
  parent_mount    = "/srv"
  services        = ["vaultwarden", "prowlarr", "jellyseerr"]
  sanoid_interval = "*:0/5"

  # Every backup, replication, prune, check and drill shares this slice.
  jobs {
    memory_max       = "4G"
    cpu_quota        = "200%"
    io_weight        = 50
    randomized_delay = "1h"
  }

  # The SSH host key lives here, and with it the secrets identity.
  protect "persist" {
    dataset    = "rpool/safe/persist"
    mountpoint = "/persist"
    backup {
      repositories = ["nas", "r2"]
      exclude      = ["/persist/var/cache"]
    }
    snapshots { policy = "production" }
    notify = ["phone"]
  }
}

# Offsite copy: an S3-compatible bucket. The bucket exists already, so the
# first backup may create the repository in it.
restic_repository "r2" {
  url              = "s3:https://0123456789abcdef.r2.cloudflarestorage.com/harbor"
  password_file    = "/run/secrets/restic-r2-password"
  environment_file = "/run/secrets/restic-r2-env"
  initialize       = true

  retention {
    daily   = 7
    weekly  = 4
    monthly = 12
  }
  drill_schedule = "monthly"
}

# Critical: on the NAS and offsite; a rebuilt host restores from the NAS,
# or from the bucket when the NAS has nothing.
service "vaultwarden" {
  container = "vaultwarden"
  dataset { profile = "sqlite" }
  backup { repositories = ["nas", "r2"] }
  snapshots { policy = "production" }
  replication {
    target         = "zfs-recv@nas.lan:backup/harbor/vaultwarden"
    ssh_key        = "/run/secrets/syncoid-key"
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIPIwSTzWnYOJNJJLMNiRV7t/W6oHBbX2zpy1KaFeTuu syncoid@forge"
    send_options   = "wp"
  }
  preseed { methods = ["syncoid", "restic"] }
  notify = ["phone"]
}

# linuxserver.io images run as uid/gid 568, which the host does not name.
service "prowlarr" {
  container = "prowlarr"
  user      = "568"
  group     = "568"
  mode      = "0770"
  dataset { profile = "sqlite" }
  backup { repository = "nas" }
  preseed {}
  notify = ["phone"]
}

service "jellyseerr" {
  container = "jellyseerr"
  user      = "568"
  group     = "568"
  backup { repository = "nas" }
  notify = ["phone"]
}
