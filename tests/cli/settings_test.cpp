#include "cli/settings.h"

#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include "cli/cli_harness.h"
#include "support/tempdir.h"

namespace hecs::cli {
namespace {

using test::ScopedEnv;

// Each test gets an empty HOME and none of the variables hecsctl reads.
class SettingsResolution : public ::testing::Test {
 protected:
  void write_config(const std::string& text) {
    std::filesystem::create_directories(config_path().parent_path());
    std::ofstream(config_path()) << text;
  }
  std::filesystem::path config_path() const {
    return home_.path() / ".config" / "hecs" / "config.yaml";
  }

  hecs::test::TempDir home_{"cli-home"};
  ScopedEnv env_{{{"HOME", home_.path().string()},
                  {"XDG_CONFIG_HOME", std::nullopt},
                  {"HECS_URL", std::nullopt},
                  {"HECS_API_KEY", std::nullopt},
                  {"HECS_CA_FILE", std::nullopt}}};
};

// Three readable CA files, one per place a setting can come from.
class CaFileResolution : public SettingsResolution {
 protected:
  void SetUp() override {
    for (const char* name : {"flag.pem", "env.pem", "file.pem"}) {
      std::ofstream(dir_.path() / name) << "-----BEGIN CERTIFICATE-----\n";
    }
  }
  std::string ca(const char* name) const { return (dir_.path() / name).string(); }

  hecs::test::TempDir dir_{"cli-ca"};
};

TEST_F(SettingsResolution, FlagWinsOverEnvironmentAndConfigFile) {
  write_config("url: http://file:1\napi_key: file-key\n");
  ScopedEnv env({{"HECS_URL", "http://env:2"}, {"HECS_API_KEY", "env-key"}});
  auto settings = resolve_settings({.url = "http://flag:3", .api_key = "flag-key"});
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->url, "http://flag:3");
  EXPECT_EQ(settings->api_key, "flag-key");
}

TEST_F(SettingsResolution, EnvironmentWinsOverConfigFile) {
  write_config("url: http://file:1\napi_key: file-key\n");
  ScopedEnv env({{"HECS_URL", "http://env:2"}, {"HECS_API_KEY", "env-key"}});
  auto settings = resolve_settings({});
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->url, "http://env:2");
  EXPECT_EQ(settings->api_key, "env-key");
}

TEST_F(SettingsResolution, ConfigFileIsUsedWhenNoFlagOrEnvironmentIsSet) {
  write_config("url: https://control.example/hecs/\napi_key: file-key\n");
  auto settings = resolve_settings({});
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->url, "https://control.example/hecs");  // trailing slash dropped
  EXPECT_EQ(settings->api_key, "file-key");
}

TEST_F(SettingsResolution, DefaultUrlIsLocalControlWhenNothingSetsOne) {
  auto settings = resolve_settings({.api_key = "k"});
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->url, "https://localhost:8080");
  EXPECT_EQ(settings->timeout, std::chrono::seconds(30));
  EXPECT_EQ(settings->ca_file, "");  // the system trust store
}

TEST_F(SettingsResolution, XdgConfigHomeMovesTheDefaultConfigFile) {
  hecs::test::TempDir xdg("cli-xdg");
  std::filesystem::create_directories(xdg.path() / "hecs");
  std::ofstream(xdg.path() / "hecs" / "config.yaml") << "api_key: xdg-key\n";
  ScopedEnv env({{"XDG_CONFIG_HOME", xdg.path().string()}});
  auto settings = resolve_settings({});
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->api_key, "xdg-key");
}

TEST_F(SettingsResolution, ExplicitConfigPathIsRead) {
  hecs::test::TempDir dir("cli-conf");
  std::ofstream(dir.path() / "other.yaml") << "url: http://other:9\napi_key: other-key\n";
  auto settings = resolve_settings({.config_path = (dir.path() / "other.yaml").string()});
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->url, "http://other:9");
}

TEST_F(SettingsResolution, UnknownConfigKeyIsRejectedByName) {
  write_config("url: http://file:1\napi-key: oops\n");
  auto settings = resolve_settings({.api_key = "k"});
  ASSERT_FALSE(settings);
  EXPECT_EQ(settings.error().code, Errc::invalid_input);
  EXPECT_NE(settings.error().message.find("unknown key \"api-key\""), std::string::npos)
      << settings.error().message;
}

TEST_F(SettingsResolution, MalformedYamlNamesTheFileAndLine) {
  write_config("url: http://file:1\napi_key: [unclosed\n");
  auto settings = resolve_settings({});
  ASSERT_FALSE(settings);
  EXPECT_NE(settings.error().message.find(config_path().string()), std::string::npos);
  EXPECT_NE(settings.error().message.find("line "), std::string::npos) << settings.error().message;
}

TEST_F(SettingsResolution, MissingExplicitConfigFileIsAnError) {
  auto settings = resolve_settings({.api_key = "k", .config_path = "/nonexistent/hecs.yaml"});
  ASSERT_FALSE(settings);
  EXPECT_NE(settings.error().message.find("/nonexistent/hecs.yaml"), std::string::npos);
}

TEST_F(SettingsResolution, MissingApiKeySaysWhereToPutIt) {
  auto settings = resolve_settings({});
  ASSERT_FALSE(settings);
  const std::string& message = settings.error().message;
  EXPECT_NE(message.find("HECS_API_KEY"), std::string::npos) << message;
  EXPECT_NE(message.find("--api-key"), std::string::npos) << message;
  EXPECT_NE(message.find(config_path().string()), std::string::npos) << message;
  EXPECT_NE(message.find("hecsctl login"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST_F(SettingsResolution, UrlWithoutHttpSchemeIsRejected) {
  auto settings = resolve_settings({.url = "control.example:8080", .api_key = "k"});
  ASSERT_FALSE(settings);
  EXPECT_NE(settings.error().message.find("--url"), std::string::npos) << settings.error().message;
}

TEST_F(SettingsResolution, ApiKeyWithANewlineIsRejectedWithoutEchoingIt) {
  auto settings = resolve_settings({.api_key = "s3cret\r\nX-Evil: 1"});
  ASSERT_FALSE(settings);
  EXPECT_EQ(settings.error().message.find("s3cret"), std::string::npos);
}

TEST_F(SettingsResolution, ATokenFromTheConfigFileIsUsedWhenNoKeyIsGivenAnywhere) {
  write_config("token: hecss_session\n");
  auto settings = resolve_settings({});
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->api_key, "");
  EXPECT_EQ(settings->token, "hecss_session");
  EXPECT_EQ(settings->credential(), "hecss_session");
}

TEST_F(SettingsResolution, AnApiKeyFromAnyPlaceWinsOverTheConfigFilesToken) {
  write_config("api_key: file-key\ntoken: hecss_session\n");
  auto from_file = resolve_settings({});
  ASSERT_TRUE(from_file) << from_file.error().message;
  EXPECT_EQ(from_file->credential(), "file-key");
  EXPECT_EQ(from_file->token, "");
  write_config("token: hecss_session\n");
  ScopedEnv env({{"HECS_API_KEY", std::string("env-key")}});
  auto from_env = resolve_settings({});
  ASSERT_TRUE(from_env) << from_env.error().message;
  EXPECT_EQ(from_env->credential(), "env-key");
  EXPECT_EQ(resolve_settings({.api_key = "flag-key"})->credential(), "flag-key");
}

TEST_F(SettingsResolution, ATokenWithAControlCharacterIsRejectedWithoutEchoingIt) {
  write_config("token: \"hecss_s3cret\\r\\nX-Evil: 1\"\n");
  auto settings = resolve_settings({});
  ASSERT_FALSE(settings);
  EXPECT_EQ(settings.error().message.find("s3cret"), std::string::npos);
  EXPECT_NE(settings.error().message.find("hecsctl login"), std::string::npos);
}

TEST_F(SettingsResolution, NoCredentialIsFineForACommandThatNeedsNone) {
  auto settings = resolve_settings({.config_path = "/nonexistent/hecs.yaml"}, Credential::optional);
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->credential(), "");
  EXPECT_EQ(settings->config_path, "/nonexistent/hecs.yaml");
}

TEST_F(SettingsResolution, SourcesAreRecordedForWhatLoginSaves) {
  write_config("url: http://file:1\n");
  auto from_file = resolve_settings({.api_key = "k"});
  ASSERT_TRUE(from_file);
  EXPECT_EQ(from_file->url_source, Source::config_file);
  EXPECT_EQ(from_file->ca_source, Source::default_value);
  EXPECT_EQ(from_file->config_path, config_path());
  EXPECT_EQ(resolve_settings({.url = "http://flag:2", .api_key = "k"})->url_source, Source::flag);
}

TEST_F(SettingsResolution, SavingTheConfigMakesItPrivateAndKeepsTheOtherKeys) {
  write_config("url: https://control.lan:8080\nca_file: hecs-ca.pem\napi_key: old\n");
  ::chmod(config_path().c_str(), 0644);
  auto config = load_config_file(config_path(), true, Paths::as_written);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->ca_file, "hecs-ca.pem");  // as written, for writing back
  config->api_key.reset();
  config->token = "hecss_new";
  ASSERT_TRUE(save_config_file(config_path(), *config));

  struct stat info {};
  ASSERT_EQ(::stat(config_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  YAML::Node saved = YAML::LoadFile(config_path().string());
  EXPECT_EQ(saved["url"].as<std::string>(), "https://control.lan:8080");
  EXPECT_EQ(saved["ca_file"].as<std::string>(), "hecs-ca.pem");
  EXPECT_EQ(saved["token"].as<std::string>(), "hecss_new");
  EXPECT_FALSE(saved["api_key"]);
}

TEST_F(SettingsResolution, SavingTheConfigMakesItsFolder) {
  hecs::test::TempDir dir("cli-conf");
  auto path = dir.path() / "new" / "config.yaml";
  ASSERT_TRUE(save_config_file(path, FileConfig{.api_key = "hecs_k"}));
  auto loaded = load_config_file(path, true);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->api_key, "hecs_k");
  EXPECT_FALSE(loaded->url);
}

TEST_F(SettingsResolution, BadConfigFileMakesRunExitWithUsageCode) {
  write_config("colour: blue\n");
  test::FixedClock clock(0);
  auto outcome = test::run_cli({"devices", "list", "--api-key", "k"}, {.clock = clock});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_EQ(outcome.err, "hecsctl: config " + config_path().string() +
                             ": unknown key \"colour\" (known: url, ca_file, api_key, token)\n");
}

TEST_F(CaFileResolution, FlagWinsOverEnvironmentAndConfigFile) {
  write_config("ca_file: " + ca("file.pem") + "\n");
  ScopedEnv env({{"HECS_CA_FILE", ca("env.pem")}});
  auto settings = resolve_settings({.api_key = "k", .ca_file = ca("flag.pem")});
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->ca_file, ca("flag.pem"));
}

TEST_F(CaFileResolution, EnvironmentWinsOverConfigFile) {
  write_config("ca_file: " + ca("file.pem") + "\n");
  ScopedEnv env({{"HECS_CA_FILE", ca("env.pem")}});
  auto settings = resolve_settings({.api_key = "k"});
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->ca_file, ca("env.pem"));
}

TEST_F(CaFileResolution, ConfigFileIsUsedWhenNoFlagOrEnvironmentIsSet) {
  write_config("ca_file: " + ca("file.pem") + "\n");
  auto settings = resolve_settings({.api_key = "k"});
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->ca_file, ca("file.pem"));
}

TEST_F(CaFileResolution, ARelativePathInTheConfigFileIsRelativeToThatFile) {
  write_config("ca_file: hecs-ca.pem\n");
  std::ofstream(config_path().parent_path() / "hecs-ca.pem") << "pem\n";
  auto settings = resolve_settings({.api_key = "k"});
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->ca_file, (config_path().parent_path() / "hecs-ca.pem").string());
}

TEST_F(CaFileResolution, AMissingFileIsAnErrorNamingWhereItWasSet) {
  ScopedEnv env({{"HECS_CA_FILE", ca("nope.pem")}});
  auto settings = resolve_settings({.api_key = "k"});
  ASSERT_FALSE(settings);
  EXPECT_EQ(settings.error().code, Errc::invalid_input);
  EXPECT_EQ(settings.error().message,
            "CA file " + ca("nope.pem") + " from HECS_CA_FILE: no such file");
}

TEST_F(CaFileResolution, ADirectoryIsNotACaFile) {
  auto settings = resolve_settings({.api_key = "k", .ca_file = dir_.path().string()});
  ASSERT_FALSE(settings);
  EXPECT_EQ(settings.error().message,
            "CA file " + dir_.path().string() + " from --ca-file: not a file");
}

TEST_F(CaFileResolution, AMissingFileMakesRunExitWithUsageCode) {
  test::FixedClock clock(0);
  auto outcome = test::run_cli({"devices", "list", "--api-key", "k", "--ca-file", ca("nope.pem")},
                               {.clock = clock});
  EXPECT_EQ(outcome.exit_code, kExitUsage);
  EXPECT_NE(outcome.err.find("--ca-file: no such file"), std::string::npos) << outcome.err;
}

}  // namespace
}  // namespace hecs::cli
