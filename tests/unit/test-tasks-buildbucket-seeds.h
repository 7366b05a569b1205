/*
 * test-tasks-buildbucket-seeds.h - JSON blocks of the two seed pages
 * (../shared/seeds/000_da1083d32b62d3ca.txt, the 2025 v2 invocation, and
 * 001_7475f7ff23998933.txt, the 2021 v1 one), copied verbatim from their
 * debug logs: what Buildbucket answered, and how LUCI printed it.
 */
#ifndef TOCK_TEST_TASKS_BUILDBUCKET_SEEDS_H
#define TOCK_TEST_TASKS_BUILDBUCKET_SEEDS_H

/* 2025: "Scheduled build:" (the ScheduleBuild reply). */
static const char seed25_scheduled[] =
    "{\n"
    "  \"id\": \"8701530828601276817\",\n"
    "  \"builder\": {\n"
    "    \"project\": \"pigweed\",\n"
    "    \"bucket\": \"pigweed.dev.ci\",\n"
    "    \"builder\": \"pigweed-linux-zephyr\"\n"
    "  },\n"
    "  \"createdBy\": \"project:pigweed\",\n"
    "  \"createTime\": \"2025-10-09T00:42:37.553217989Z\",\n"
    "  \"updateTime\": \"2025-10-09T00:42:37.553217989Z\",\n"
    "  \"status\": \"SCHEDULED\",\n"
    "  \"input\": {\n"
    "    \"gitilesCommit\": {\n"
    "      \"host\": \"pigweed.googlesource.com\",\n"
    "      \"project\": \"pigweed/pigweed\",\n"
    "      \"id\": \"59e0a8f4a6f6185007a20e61c81962b6198f62d4\",\n"
    "      \"ref\": \"refs/heads/main\"\n"
    "    }\n"
    "  }\n"
    "}";

/* 2025: "Build:" (the final GetBuild reply). */
static const char seed25_final[] =
    "{\n"
    "  \"id\": \"8701530828601276817\",\n"
    "  \"builder\": {\n"
    "    \"project\": \"pigweed\",\n"
    "    \"bucket\": \"pigweed.dev.ci\",\n"
    "    \"builder\": \"pigweed-linux-zephyr\"\n"
    "  },\n"
    "  \"createdBy\": \"project:pigweed\",\n"
    "  \"createTime\": \"2025-10-09T00:42:37.553217989Z\",\n"
    "  \"startTime\": \"2025-10-09T04:07:40.563172361Z\",\n"
    "  \"endTime\": \"2025-10-09T04:15:04.422434154Z\",\n"
    "  \"updateTime\": \"2025-10-09T04:15:04.422434154Z\",\n"
    "  \"status\": \"SUCCESS\",\n"
    "  \"input\": {\n"
    "    \"gitilesCommit\": {\n"
    "      \"host\": \"pigweed.googlesource.com\",\n"
    "      \"project\": \"pigweed/pigweed\",\n"
    "      \"id\": \"59e0a8f4a6f6185007a20e61c81962b6198f62d4\",\n"
    "      \"ref\": \"refs/heads/main\"\n"
    "    }\n"
    "  }\n"
    "}";

/* 2021: "Buildbucket response:" (the PUT reply). */
static const char seed21_response[] =
    "{\n"
    "  \"build\": {\n"
    "    \"bucket\": \"luci.tint.ci\",\n"
    "    \"canary_preference\": \"PROD\",\n"
    "    \"created_by\": \"project:tint\",\n"
    "    \"created_ts\": \"1613684423573704\",\n"
    "    \"id\": \"8854922957825743408\",\n"
    "    \"parameters_json\": \"{\\\"builder_name\\\": \\\"mac-rel\\\", \\\"properties\\\": {\\\"$recipe_engine/scheduler\\\": {\\\"hostname\\\": \\\"luci-scheduler.appspot.com\\\", \\\"triggers\\\": [{\\\"gitiles\\\": {\\\"ref\\\": \\\"refs/heads/main\\\", \\\"repo\\\": \\\"https://dawn.googlesource.com/tint.git\\\", \\\"revision\\\": \\\"1d982367704d1ab504aedae06e02d5edb40c83aa\\\"}, \\\"id\\\": \\\"https://dawn.googlesource.com/tint.git/+/refs/heads/main@1d982367704d1ab504aedae06e02d5edb40c83aa\\\", \\\"title\\\": \\\"1d982367704d1ab504aedae06e02d5edb40c83aa\\\", \\\"url\\\": \\\"https://dawn.googlesource.com/tint.git/+/1d982367704d1ab504aedae06e02d5edb40c83aa\\\"}]}, \\\"branch\\\": \\\"refs/heads/main\\\", \\\"repository\\\": \\\"https://dawn.googlesource.com/tint.git\\\", \\\"revision\\\": \\\"1d982367704d1ab504aedae06e02d5edb40c83aa\\\"}}\",\n"
    "    \"project\": \"tint\",\n"
    "    \"result_details_json\": \"{\\\"properties\\\": {}}\",\n"
    "    \"service_account\": \"tint-ci-builder@chops-service-accounts.iam.gserviceaccount.com\",\n"
    "    \"status\": \"SCHEDULED\",\n"
    "    \"status_changed_ts\": \"1613684423981555\",\n"
    "    \"tags\": [\n"
    "      \"builder:mac-rel\",\n"
    "      \"buildset:commit/git/1d982367704d1ab504aedae06e02d5edb40c83aa\",\n"
    "      \"buildset:commit/gitiles/dawn.googlesource.com/tint/+/1d982367704d1ab504aedae06e02d5edb40c83aa\",\n"
    "      \"gitiles_ref:refs/heads/main\",\n"
    "      \"scheduler_invocation_id:9020353019805130176\",\n"
    "      \"scheduler_job_id:tint/mac-rel\",\n"
    "      \"swarming_hostname:chromium-swarm.appspot.com\",\n"
    "      \"swarming_tag:log_location:logdog://logs.chromium.org/tint/buildbucket/cr-buildbucket.appspot.com/8854922957825743408/+/annotations\",\n"
    "      \"swarming_tag:luci_project:tint\",\n"
    "      \"swarming_tag:recipe_name:tint\",\n"
    "      \"swarming_tag:recipe_package:infra/recipe_bundles/chromium.googlesource.com/chromium/tools/build\",\n"
    "      \"swarming_task_id:\",\n"
    "      \"user_agent:luci-scheduler\"\n"
    "    ],\n"
    "    \"updated_ts\": \"1613684423981714\",\n"
    "    \"url\": \"https://ci.chromium.org/b/8854922957825743408\",\n"
    "    \"utcnow_ts\": \"1613684424093450\"\n"
    "  }\n"
    "}";

/* 2021: "Buildbucket build:" (the final GET reply). */
static const char seed21_final[] =
    "{\n"
    "  \"build\": {\n"
    "    \"bucket\": \"luci.tint.ci\",\n"
    "    \"canary_preference\": \"PROD\",\n"
    "    \"completed_ts\": \"1613686140997433\",\n"
    "    \"created_by\": \"project:tint\",\n"
    "    \"created_ts\": \"1613684423573704\",\n"
    "    \"id\": \"8854922957825743408\",\n"
    "    \"parameters_json\": \"{\\\"builder_name\\\": \\\"mac-rel\\\", \\\"properties\\\": {\\\"$recipe_engine/scheduler\\\": {\\\"hostname\\\": \\\"luci-scheduler.appspot.com\\\", \\\"triggers\\\": [{\\\"gitiles\\\": {\\\"ref\\\": \\\"refs/heads/main\\\", \\\"repo\\\": \\\"https://dawn.googlesource.com/tint.git\\\", \\\"revision\\\": \\\"1d982367704d1ab504aedae06e02d5edb40c83aa\\\"}, \\\"id\\\": \\\"https://dawn.googlesource.com/tint.git/+/refs/heads/main@1d982367704d1ab504aedae06e02d5edb40c83aa\\\", \\\"title\\\": \\\"1d982367704d1ab504aedae06e02d5edb40c83aa\\\", \\\"url\\\": \\\"https://dawn.googlesource.com/tint.git/+/1d982367704d1ab504aedae06e02d5edb40c83aa\\\"}]}, \\\"branch\\\": \\\"refs/heads/main\\\", \\\"repository\\\": \\\"https://dawn.googlesource.com/tint.git\\\", \\\"revision\\\": \\\"1d982367704d1ab504aedae06e02d5edb40c83aa\\\"}}\",\n"
    "    \"project\": \"tint\",\n"
    "    \"result\": \"SUCCESS\",\n"
    "    \"result_details_json\": \"{\\\"properties\\\": {\\\"$build/goma\\\": {\\\"rpc_extra_params\\\": \\\"?prod\\\", \\\"server_host\\\": \\\"goma.chromium.org\\\"}, \\\"$depot_tools/osx_sdk\\\": {\\\"sdk_version\\\": \\\"11b52\\\"}, \\\"$recipe_engine/path\\\": {\\\"cache_dir\\\": \\\"/opt/s/w/ir/cache\\\", \\\"temp_dir\\\": \\\"/opt/s/w/ir/tmp/rt\\\"}, \\\"$recipe_engine/runtime\\\": {\\\"is_experimental\\\": false, \\\"is_luci\\\": true}, \\\"$recipe_engine/scheduler\\\": {\\\"hostname\\\": \\\"luci-scheduler.appspot.com\\\", \\\"triggers\\\": [{\\\"gitiles\\\": {\\\"ref\\\": \\\"refs/heads/main\\\", \\\"repo\\\": \\\"https://dawn.googlesource.com/tint.git\\\", \\\"revision\\\": \\\"1d982367704d1ab504aedae06e02d5edb40c83aa\\\"}, \\\"id\\\": \\\"https://dawn.googlesource.com/tint.git/+/refs/heads/main@1d982367704d1ab504aedae06e02d5edb40c83aa\\\", \\\"title\\\": \\\"1d982367704d1ab504aedae06e02d5edb40c83aa\\\", \\\"url\\\": \\\"https://dawn.googlesource.com/tint.git/+/1d982367704d1ab504aedae06e02d5edb40c83aa\\\"}]}, \\\"bot_id\\\": \\\"vm174-m9\\\", \\\"branch\\\": \\\"refs/heads/main\\\", \\\"buildername\\\": \\\"mac-rel\\\", \\\"debug\\\": false, \\\"got_revision\\\": \\\"1d982367704d1ab504aedae06e02d5edb40c83aa\\\", \\\"path_config\\\": \\\"generic\\\", \\\"recipe\\\": \\\"tint\\\", \\\"repository\\\": \\\"https://dawn.googlesource.com/tint.git\\\", \\\"revision\\\": \\\"1d982367704d1ab504aedae06e02d5edb40c83aa\\\"}, \\\"swarming\\\": {\\\"bot_dimensions\\\": {\\\"caches\\\": [\\\"builder_1b684c4b1f0b31367e0c18de72c4b64ed80ce1ca030418ea4841a943b4b49232_v2\\\", \\\"builder_7c229f28dd0a21b0fe74db05785d668e4a6531254ff2f197b4170d5dba664c4a_v2\\\", \\\"builder_a2131a4d1d19bbddb55dc6bec6918464235ce7f50d00a00f6d9ac4528a058fc4_v2\\\", \\\"builder_bdcc62afc917b0ceb2043bea28ea18229bfefecfb05a84bace82166be8215d6b_v2\\\", \\\"builder_d596cb13ee205bf48d4ab5692f5cd102c15e6ebdebe6d3cb51ae116afa9896ae_v2\\\", \\\"git\\\", \\\"gocache\\\", \\\"goma_v2\\\", \\\"gopath\\\", \\\"infra_gclient_with_go\\\", \\\"osx_sdk\\\", \\\"osx_sdk_ios\\\", \\\"vpython\\\", \\\"win_toolchain\\\"], \\\"cores\\\": [\\\"8\\\"], \\\"cpu\\\": [\\\"x86\\\", \\\"x86-64\\\", \\\"x86-64-E5-2697_v2\\\"], \\\"gce\\\": [\\\"0\\\"], \\\"gpu\\\": [\\\"none\\\"], \\\"id\\\": [\\\"vm174-m9\\\"], \\\"mac_model\\\": [\\\"VMware7,1\\\"], \\\"machine_type\\\": [\\\"n1-highcpu-8\\\"], \\\"os\\\": [\\\"Mac\\\", \\\"Mac-10\\\", \\\"Mac-10.15\\\", \\\"Mac-10.15.6\\\", \\\"Mac-10.15.6-19G2021\\\"], \\\"pool\\\": [\\\"luci.flex.ci\\\"], \\\"python\\\": [\\\"2.7.16\\\"], \\\"server_version\\\": [\\\"5700-b36f18b\\\"], \\\"ssd\\\": [\\\"1\\\"], \\\"zone\\\": [\\\"us\\\", \\\"us-atl\\\", \\\"us-atl-golo\\\", \\\"us-atl-golo-m9\\\"]}}}\",\n"
    "    \"service_account\": \"tint-ci-builder@chops-service-accounts.iam.gserviceaccount.com\",\n"
    "    \"started_ts\": \"1613684433958609\",\n"
    "    \"status\": \"COMPLETED\",\n"
    "    \"status_changed_ts\": \"1613686141514893\",\n"
    "    \"tags\": [\n"
    "      \"builder:mac-rel\",\n"
    "      \"buildset:commit/git/1d982367704d1ab504aedae06e02d5edb40c83aa\",\n"
    "      \"buildset:commit/gitiles/dawn.googlesource.com/tint/+/1d982367704d1ab504aedae06e02d5edb40c83aa\",\n"
    "      \"gitiles_ref:refs/heads/main\",\n"
    "      \"scheduler_invocation_id:9020353019805130176\",\n"
    "      \"scheduler_job_id:tint/mac-rel\",\n"
    "      \"swarming_hostname:chromium-swarm.appspot.com\",\n"
    "      \"swarming_tag:log_location:logdog://logs.chromium.org/tint/buildbucket/cr-buildbucket.appspot.com/8854922957825743408/+/annotations\",\n"
    "      \"swarming_tag:luci_project:tint\",\n"
    "      \"swarming_tag:os:Mac\",\n"
    "      \"swarming_tag:recipe_name:tint\",\n"
    "      \"swarming_tag:recipe_package:infra/recipe_bundles/chromium.googlesource.com/chromium/tools/build\",\n"
    "      \"swarming_task_id:51cfe7c6430dc410\",\n"
    "      \"user_agent:luci-scheduler\"\n"
    "    ],\n"
    "    \"updated_ts\": \"1613686141526161\",\n"
    "    \"url\": \"https://ci.chromium.org/b/8854922957825743408\",\n"
    "    \"utcnow_ts\": \"1613686142185346\"\n"
    "  }\n"
    "}";

#endif
