host "box" {
  parent_dataset = "tank/data"
  parent_mount   = "/data"
}

# A user profile overriding a built-in one by name.
profile "media" {
  recordsize  = "1M"
  compression = "off"
  properties  = { atime = "off", "org.example:role" = "media" }
}

profile "scratch" {
  compression = "gzip-9"
  properties  = { sync = "disabled", redundant_metadata = "most" }
}

service "lite" {
  dataset { profile = "sqlite" }
}

service "pg" {
  dataset { profile = "postgres" }
}

service "movies" {
  dataset { profile = "media" }
}

service "journal" {
  dataset { profile = "logs" }
}

service "misc" {
  dataset { profile = "general" }
}

# Explicit attributes win over the profile; properties merge key by key.
service "tmp" {
  dataset {
    profile     = "scratch"
    recordsize  = "64K"
    compression = "on"
    properties  = { sync = "standard", xattr = "sa" }
  }
}
