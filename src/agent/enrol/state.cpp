// The enrolment's files in STATE_DIR, and the checks a certificate must pass before it is kept.
#include <cstdio>

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "agent/enrol/enrol.h"
#include "common/files.h"

namespace hecs::agent::enrol {
namespace fs = std::filesystem;

namespace {

bool file_exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

Result<std::string> read_file(const fs::path& path) {
  auto text = files::read_small(path, kMaxPemBytes);
  if (!text && text.error().code == Errc::invalid_input) {
    return fail(Errc::corrupt, text.error().message);
  }
  return text;
}

// rename(2), then fsync of the directory so that the rename survives a power cut.
Result<void> rename_durably(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return fail(Errc::unavailable,
                fmt::format("rename {} to {}: {}", from.string(), to.string(),
                            std::error_code(errno, std::generic_category()).message()));
  }
  const int dir = ::open(to.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

Result<std::string> cert_key_sha256(const fs::path& cert_path) {
  auto pem = read_file(cert_path);
  if (!pem) {
    return tl::unexpected(std::move(pem.error()));
  }
  auto info = crypto::parse_certificate(*pem);
  if (!info) {
    return fail(Errc::corrupt, fmt::format("{}: {}", cert_path.string(), info.error().message));
  }
  return info->public_key_sha256;
}

Result<std::string> key_sha256(const fs::path& key_path) {
  auto pem = read_file(key_path);
  if (!pem) {
    return tl::unexpected(std::move(pem.error()));
  }
  auto hash = public_key_sha256(*pem);
  if (!hash) {
    return fail(Errc::corrupt, fmt::format("{}: {}", key_path.string(), hash.error().message));
  }
  return hash;
}

// A renewal stores device.pem.next, then renames device.key.next to device.key, then
// device.pem.next to device.pem. A crash between these steps is finished here.
Result<void> finish_renewal(const Paths& p) {
  if (!file_exists(p.next_cert)) {
    return {};
  }
  auto cert = cert_key_sha256(p.next_cert);
  if (cert && file_exists(p.next_key)) {
    if (auto next = key_sha256(p.next_key); next && *next == *cert) {
      if (auto r = rename_durably(p.next_key, p.key); !r) {
        return r;
      }
    }
  }
  auto current = key_sha256(p.key);
  if (cert && current && *current == *cert) {
    return rename_durably(p.next_cert, p.cert);
  }
  std::error_code ec;
  fs::remove(p.next_cert, ec);  // for a key we do not hold: useless
  return {};
}

}  // namespace

Paths::Paths(const fs::path& state_dir)
    : key(state_dir / "device.key"),
      cert(state_dir / "device.pem"),
      ca(state_dir / "ca.pem"),
      mqtt_url(state_dir / "mqtt-url"),
      next_key(state_dir / "device.key.next"),
      next_cert(state_dir / "device.pem.next") {}

Result<std::optional<Enrolled>> load_enrolment(const Paths& p) {
  if (auto r = finish_renewal(p); !r) {
    return tl::unexpected(std::move(r.error()));
  }
  if (!file_exists(p.cert)) {
    return std::optional<Enrolled>();
  }
  for (const auto* needed : {&p.key, &p.ca, &p.mqtt_url}) {
    if (!file_exists(*needed)) {
      return fail(Errc::corrupt,
                  fmt::format("{} is missing next to {}", needed->string(), p.cert.string()));
    }
  }
  auto cert = cert_key_sha256(p.cert);
  if (!cert) {
    return tl::unexpected(std::move(cert.error()));
  }
  auto key = key_sha256(p.key);
  if (!key) {
    return tl::unexpected(std::move(key.error()));
  }
  if (*cert != *key) {
    return fail(Errc::corrupt,
                fmt::format("{} is not the certificate of {}", p.cert.string(), p.key.string()));
  }
  auto url = read_file(p.mqtt_url);
  if (!url) {
    return tl::unexpected(std::move(url.error()));
  }
  while (!url->empty() && (url->back() == '\n' || url->back() == '\r')) {
    url->pop_back();
  }
  auto parsed = net::parse_mqtt_url(*url);
  if (!parsed || !parsed->tls) {
    return fail(Errc::corrupt, fmt::format("{}: not an mqtts:// url", p.mqtt_url.string()));
  }
  return std::optional<Enrolled>(
      Enrolled{*url, net::MqttTls{p.ca.string(), p.cert.string(), p.key.string()}});
}

Result<std::string> load_or_create_key(const fs::path& path) {
  auto pem = read_file(path);
  if (pem) {
    if (auto checked = crypto::load_private_key(*pem); !checked) {
      return fail(Errc::corrupt, fmt::format("{}: not a private key", path.string()));
    }
    return pem;
  }
  if (pem.error().code != Errc::not_found) {
    return pem;
  }
  auto made = crypto::generate_p256_key();
  if (auto w = files::write_atomic(path, made.private_pem, 0600); !w) {
    return tl::unexpected(std::move(w.error()));
  }
  return made.private_pem;
}

Result<std::string> public_key_sha256(std::string_view private_pem) {
  auto pair = crypto::load_private_key(private_pem);
  if (!pair) {
    return tl::unexpected(std::move(pair.error()));
  }
  // The DER of a "PUBLIC KEY" PEM is the base64 between its armour lines.
  std::string b64;
  std::string_view text = pair->public_pem;
  while (!text.empty()) {
    auto eol = text.find('\n');
    auto line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (!line.starts_with("-----")) {
      b64.append(line);
    }
  }
  auto der = crypto::base64_decode(b64);
  if (!der) {
    return fail(Errc::internal, "public key pem does not decode");
  }
  return crypto::sha256_hex(*der);
}

Result<crypto::CertInfo> check_certificate(std::string_view cert_pem, std::string_view ca_pem,
                                           std::string_view device_id, std::string_view key_sha256,
                                           std::int64_t now_s) {
  auto info = crypto::parse_certificate(cert_pem);
  if (!info) {
    return fail(Errc::invalid_input, "certificate: " + info.error().message);
  }
  if (info->common_name != device_id) {
    return fail(Errc::invalid_input, "certificate: issued for another device");
  }
  if (info->public_key_sha256 != key_sha256) {
    return fail(Errc::invalid_input, "certificate: not for our key");
  }
  if (auto v = crypto::verify_certificate(cert_pem, ca_pem, now_s); !v) {
    return fail(Errc::invalid_input, "certificate: " + v.error().message);
  }
  return info;
}

Result<Enrolled> store_enrolment(const Paths& p, std::string_view cert_pem, std::string_view ca_pem,
                                 std::string_view mqtt_url) {
  for (auto [path, text] :
       {std::pair{&p.ca, ca_pem}, std::pair{&p.mqtt_url, mqtt_url}, std::pair{&p.cert, cert_pem}}) {
    std::string content(text);
    if (!content.ends_with('\n')) {
      content.push_back('\n');
    }
    if (auto w = files::write_atomic(*path, content, 0600); !w) {
      return tl::unexpected(std::move(w.error()));
    }
  }
  return Enrolled{std::string(mqtt_url),
                  net::MqttTls{p.ca.string(), p.cert.string(), p.key.string()}};
}

Result<void> install_renewed(const Paths& p, std::string_view cert_pem) {
  if (auto w = files::write_atomic(p.next_cert, cert_pem, 0600); !w) {
    return w;
  }
  if (auto r = rename_durably(p.next_key, p.key); !r) {
    return r;
  }
  return rename_durably(p.next_cert, p.cert);
}

}  // namespace hecs::agent::enrol
