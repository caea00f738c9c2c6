-- The replication user binlog-sync reads with, and an example schema.
CREATE USER 'sync'@'%' IDENTIFIED WITH mysql_native_password BY 'sync-pass';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO 'sync'@'%';
CREATE DATABASE shop;
CREATE TABLE shop.orders (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  customer VARCHAR(100) NOT NULL,
  total DECIMAL(12,2) NOT NULL,
  created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
);
CREATE TABLE shop.customers (
  id INT PRIMARY KEY,
  email VARCHAR(200) NOT NULL UNIQUE,
  name VARCHAR(100) NOT NULL,
  orders INT NOT NULL DEFAULT 0
);
