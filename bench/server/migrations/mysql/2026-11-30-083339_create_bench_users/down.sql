DROP TABLE `bench_users`;
