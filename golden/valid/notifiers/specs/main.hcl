host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

notifier "phone" {
  type       = "ntfy"
  url        = "https://ntfy.sh/my-homelab"
  token_file = "/run/secrets/ntfy"
}

# The chat log hears of every result, routine successes too; the phone of
# the default events (failure, recovery, preseed).
notifier "chat" {
  type   = "webhook"
  url    = "http://127.0.0.1:8080/hooks/nixgen"
  events = ["failure", "success", "preseed"]
}

service "mail" {
  preseed {
    methods    = ["local"]
    on_failure = "start-empty"
  }
  notify = ["phone", "chat"]
}
