# The services, their datasets and how their data is protected.

service "sonarr" {
  user       = "sonarr"
  group      = "media"
  mountpoint = "/var/lib/sonarr"

  dataset {
    profile    = "sqlite"
    properties = { "com.sun:auto-snapshot" = "false" }
  }

  backup {
    repository = "nas"
    exclude    = ["**/logs", "**/MediaCover"]
    tags       = ["arr"]
  }

  snapshots { policy = "production" }

  replication {
    target         = "zfs-recv@nas.lan:backup/forge/sonarr"
    ssh_key        = "/run/secrets/syncoid-key"
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIPIwSTzWnYOJNJJLMNiRV7t/W6oHBbX2zpy1KaFeTuu syncoid@forge"
  }

  preseed {
    methods    = ["syncoid", "local", "restic"]
    on_failure = "block"
  }

  notify = ["phone"]
}

service "radarr" {
  user       = "radarr"
  group      = "media"
  mountpoint = "/var/lib/radarr"

  dataset { profile = "sqlite" }

  backup {
    repository = "nas"
    exclude    = ["**/logs", "**/MediaCover"]
    tags       = ["arr"]
  }

  snapshots { policy = "production" }

  preseed {}

  notify = ["phone"]
}

service "plex" {
  unit       = "plex.service"
  user       = "plex"
  group      = "media"
  mode       = "0755"
  mountpoint = "/var/lib/plex"

  dataset {
    profile = "media"
    # Metadata and thumbnails: many small files.
    recordsize = "128K"
  }

  backup {
    repository = "nas"
    paths      = ["/var/lib/plex/Plex Media Server/Plug-in Support/Databases"]
    schedule   = "*-*-* 03:30:00"
  }

  snapshots { policy = "media" }

  preseed {
    timeout    = "1h"
    on_failure = "start-empty"
  }
}

service "home-assistant" {
  unit       = "home-assistant.service"
  user       = "hass"
  group      = "hass"
  mountpoint = "/var/lib/hass"

  dataset {
    name    = "home-assistant"
    profile = "sqlite"
  }

  backup {
    repository = "nas"
    exclude    = ["home-assistant_v2.db-shm", "tts"]
    schedule   = "*-*-* 02,14:00:00"
  }

  snapshots { policy = "production" }

  # Runs on forge and luna: a replication block would make both hosts push
  # to one target, so this service relies on restic alone.
  preseed {
    methods = ["local", "restic"]
    timeout = "45m"
  }

  notify = ["phone"]
}

service "postgresql" {
  user       = "postgres"
  group      = "postgres"
  mode       = "0700"
  mountpoint = "/var/lib/postgresql"

  dataset { profile = "postgres" }

  backup {
    repository = "nas"
    tags       = ["database"]
  }

  snapshots { policy = "production" }

  replication {
    target         = "zfs-recv@nas.lan:backup/forge/postgresql"
    ssh_key        = "/run/secrets/syncoid-key"
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIPIwSTzWnYOJNJJLMNiRV7t/W6oHBbX2zpy1KaFeTuu syncoid@forge"
  }

  preseed {
    methods = ["syncoid", "local", "restic"]
    timeout = "2h"
  }

  notify = ["phone"]
}
