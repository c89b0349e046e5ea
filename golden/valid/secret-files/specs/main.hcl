# Secrets stay in root-only files on the host: the generated files and
# manifest.json only name them.
host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

# The repository string holds the rest-server password.
restic_repository "offsite" {
  repository_file = "/run/secrets/restic/repository"
  password_file   = "/run/secrets/restic/password"
  retention {
    daily = 7
  }
}

# A Slack-style webhook: the secret is in the path.
notifier "chat" {
  type     = "webhook"
  url_file = "/run/secrets/chat-webhook-url"
}

notifier "phone" {
  type       = "ntfy"
  url        = "https://ntfy.example.net/box"
  token_file = "/run/secrets/ntfy-token"
}

service "vault" {
  user  = "vault"
  group = "vault"
  mode  = "0700"
  backup { repository = "offsite" }
  preseed {}
  notify = ["chat", "phone"]
}
