// Artifact pieces on up/result (collect-logs, issue 6): strict, bounded, and additive to the
// state and output bodies.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/crypto/crypto.h"
#include "proto/proto.h"

namespace hecs::proto {
namespace {

const std::string kSha(64, 'a');

boost::json::object chunk_json(std::uint64_t offset, std::uint64_t size, std::string_view raw,
                               bool last) {
  return boost::json::object{
      {"name", "collect-logs.tar.gz"},      {"offset", offset}, {"size", size}, {"sha256", kSha},
      {"data", crypto::base64_encode(raw)}, {"last", last}};
}

boost::json::object body_with(boost::json::object artifact) {
  return boost::json::object{{"task", random_uuid()}, {"artifact", std::move(artifact)}};
}

TEST(ArtifactResult, SurvivesARoundTripThroughAnEnvelope) {
  TaskResult result;
  result.task = random_uuid();
  result.artifact =
      ArtifactChunk{"logs.tar.gz", 3, 10, kSha, std::string("\x00\x1f\x8b\xff", 4), false};
  auto envelope = parse_envelope(serialize(make_envelope("result", 1, to_json(result))));
  ASSERT_TRUE(envelope) << envelope.error().message;
  auto parsed = parse_task_result(envelope->body);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, result);
  EXPECT_FALSE(parsed->state);
  EXPECT_FALSE(parsed->output);
}

TEST(ArtifactResult, AFullSizedPieceFitsTheDefaultMessageLimit) {
  TaskResult result;
  result.task = random_uuid();
  result.artifact =
      ArtifactChunk{std::string(kMaxArtifactNameBytes, 'n'),     0,    kMaxArtifactBytes, kSha,
                    std::string(kMaxArtifactChunkBytes, '\xff'), false};
  auto text = serialize(make_envelope("result", 1, to_json(result)));
  EXPECT_LT(text.size(), kDefaultMaxMessageBytes);
  ASSERT_TRUE(parse_envelope(text));
}

TEST(ArtifactResult, RejectsEachBrokenField) {
  struct Case {
    boost::json::object artifact;
    const char* reason;
  };
  auto with = [](boost::json::object o, const char* key, boost::json::value v) {
    o[key] = std::move(v);
    return o;
  };
  auto without = [](boost::json::object o, const char* key) {
    o.erase(key);
    return o;
  };
  const auto good = chunk_json(0, 4, "abcd", true);
  const Case cases[] = {
      {with(good, "name", ""), "body.artifact.name"},
      {with(good, "name", "../etc/passwd"), "body.artifact.name"},
      {with(good, "name", ".hidden"), "body.artifact.name"},
      {with(good, "name", boost::json::string(std::string(129, 'x'))), "body.artifact.name"},
      {with(good, "sha256", "ABC"), "body.artifact.sha256"},
      {with(good, "sha256", boost::json::string(std::string(64, 'A'))), "body.artifact.sha256"},
      {with(good, "size", 0), "body.artifact.size: must not be 0"},
      {with(good, "size", kMaxArtifactBytes + 1), "body.artifact.size: above"},
      {with(good, "size", -4), "body.artifact.size: expected an unsigned integer"},
      {with(good, "offset", 4), "body.artifact.offset"},
      {with(good, "data", "not base64!"), "body.artifact.data"},
      {with(good, "data", ""), "body.artifact.data"},
      {with(good, "data",
            boost::json::string(
                crypto::base64_encode(std::string(kMaxArtifactChunkBytes + 1, 'x')))),
       "body.artifact.data"},
      {with(good, "data", 42), "body.artifact.data"},
      {with(good, "last", false), "body.artifact.last"},
      {without(good, "last"), "body.artifact.last"},
      {with(chunk_json(0, 8, "abcd", false), "last", true), "body.artifact.last"},
      {with(good, "path", "/etc/shadow"), "body.artifact.path: unknown field"},
      {without(good, "sha256"), "body.artifact.sha256"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_task_result(body_with(c.artifact));
    ASSERT_FALSE(parsed) << boost::json::serialize(c.artifact);
    EXPECT_EQ(parsed.error().code, Errc::invalid_input);
    EXPECT_NE(parsed.error().message.find(c.reason), std::string::npos)
        << parsed.error().message << " for " << boost::json::serialize(c.artifact);
  }
}

TEST(ArtifactResult, RejectsAPieceThatEndsPastTheArtifact) {
  auto parsed = parse_task_result(body_with(chunk_json(2, 4, "abcd", true)));
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("ends past"), std::string::npos);
}

TEST(ArtifactResult, ComesAloneWithoutStateOrOutput) {
  auto body = body_with(chunk_json(0, 4, "abcd", true));
  body["state"] = "succeeded";
  EXPECT_FALSE(parse_task_result(body));
  body.erase("state");
  body["output"] = boost::json::object{{"stream", "stdout"}, {"offset", 0}, {"data", "x"}};
  EXPECT_FALSE(parse_task_result(body));
  EXPECT_FALSE(parse_task_result(boost::json::object{{"task", random_uuid()}, {"artifact", "x"}}));
}

TEST(ArtifactResult, StateAndOutputBodiesAreUnchanged) {
  auto state = parse_task_result(
      boost::json::parse(R"({"task":")" + random_uuid() + R"(","state":"running"})").as_object());
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_FALSE(state->artifact);
  EXPECT_FALSE(to_json(*state).contains("artifact"));
}

}  // namespace
}  // namespace hecs::proto
