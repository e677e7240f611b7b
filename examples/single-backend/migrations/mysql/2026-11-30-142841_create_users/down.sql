DROP TABLE `users`;
