// Ed25519 (RFC 8032) through OpenSSL 3's EVP interface. Ed25519 is a "one-shot" signature
// scheme: EVP_DigestSign/Verify with a NULL digest, never the Update/Final calls.
#include <array>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/crypto/crypto.h"
#include "common/result.h"

namespace hecs::crypto {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

constexpr std::size_t kSeedBytes = 32;

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

struct Ed25519Key::State {
  Pkey pkey;
  std::string seed;
  std::string public_key;
};

Ed25519Key::Ed25519Key(std::shared_ptr<const State> state) : state_(std::move(state)) {}

Ed25519Key Ed25519Key::generate() {
  // A fresh seed from the same CSPRNG as everything else, so generation and loading share
  // one path (from_seed) and one set of tests.
  auto key = from_seed(random_bytes(kSeedBytes));
  HECS_CHECK(key.has_value(), "ed25519: a 32-byte seed was refused");
  return std::move(*key);
}

Result<Ed25519Key> Ed25519Key::from_seed(std::string_view seed) {
  if (seed.size() != kSeedBytes) {
    return fail(Errc::invalid_input, "ed25519: a private key is 32 bytes");
  }
  Pkey pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes_of(seed), seed.size()));
  if (!pkey) {
    return fail(Errc::invalid_input, "ed25519: private key refused");
  }
  std::string public_key(kEd25519PublicKeyBytes, '\0');
  std::size_t len = public_key.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), reinterpret_cast<unsigned char*>(public_key.data()),
                                  &len) != 1 ||
      len != kEd25519PublicKeyBytes) {
    return fail(Errc::internal, "ed25519: cannot derive the public key");
  }
  auto state = std::make_shared<State>();
  state->pkey = std::move(pkey);
  state->seed = std::string(seed);
  state->public_key = std::move(public_key);
  return Ed25519Key(std::move(state));
}

std::string Ed25519Key::seed() const { return state_->seed; }

std::string Ed25519Key::public_key() const { return state_->public_key; }

std::string Ed25519Key::sign(std::string_view message) const {
  // With a valid key, signing fails only when out of memory: treated as a broken invariant
  // rather than making every caller handle an error that cannot happen.
  MdCtx ctx(EVP_MD_CTX_new());
  HECS_CHECK(ctx != nullptr, "ed25519: out of memory");
  HECS_CHECK(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, state_->pkey.get()) == 1,
             "ed25519: sign init failed");
  std::string signature(kEd25519SignatureBytes, '\0');
  std::size_t len = signature.size();
  HECS_CHECK(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                            bytes_of(message), message.size()) == 1 &&
                 len == kEd25519SignatureBytes,
             "ed25519: sign failed");
  return signature;
}

namespace {

// What one verification costs in OpenSSL 3.0 is mostly setting up: importing the raw key and
// fetching the algorithm take ~40 % of a ~130 µs check. A device checks every command with
// the same one or two keys, and hecs-sim does so for thousands of devices, so each thread
// keeps a context initialised per recent key and copies it for each check (no fetch, no
// import). A copy, not the template itself: a context used for a one-shot verify is not
// documented as reusable.
class VerifyContexts {
 public:
  EVP_MD_CTX* template_for(std::string_view public_key) {
    for (auto& entry : entries_) {
      if (entry.ctx && entry.public_key == public_key) {
        return entry.ctx.get();
      }
    }
    Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_of(public_key),
                                          public_key.size()));
    MdCtx ctx(EVP_MD_CTX_new());
    if (!pkey || !ctx ||
        EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
      return nullptr;
    }
    // The context holds its own reference to the key. Oldest out: a thread that meets more
    // keys than entries (a verifier of audit bundles) only loses the saving.
    Entry& slot = entries_[next_++ % entries_.size()];
    slot.public_key = std::string(public_key);
    slot.ctx = std::move(ctx);
    return slot.ctx.get();
  }

  EVP_MD_CTX* work() {
    if (!work_) {
      work_.reset(EVP_MD_CTX_new());
    }
    return work_.get();
  }

 private:
  struct Entry {
    std::string public_key;
    MdCtx ctx;
  };
  std::array<Entry, 4> entries_;
  std::size_t next_ = 0;
  MdCtx work_;
};

}  // namespace

bool ed25519_verify(std::string_view public_key, std::string_view message,
                    std::string_view signature) {
  if (public_key.size() != kEd25519PublicKeyBytes || signature.size() != kEd25519SignatureBytes) {
    return false;
  }
  thread_local VerifyContexts contexts;
  EVP_MD_CTX* const initialised = contexts.template_for(public_key);
  EVP_MD_CTX* const ctx = contexts.work();
  // OpenSSL checks S < L and rejects non-canonical encodings (RFC 8032 §5.1.7), so a
  // signature cannot be malleated into a second valid one.
  const bool ok = initialised != nullptr && ctx != nullptr &&
                  EVP_MD_CTX_copy_ex(ctx, initialised) == 1 &&
                  EVP_DigestVerify(ctx, bytes_of(signature), signature.size(), bytes_of(message),
                                   message.size()) == 1;
  // A refused signature leaves entries on this thread's OpenSSL error queue; left there they
  // would be blamed on the next, unrelated TLS or X.509 call.
  if (!ok) {
    ERR_clear_error();
  }
  return ok;
}

}  // namespace hecs::crypto
