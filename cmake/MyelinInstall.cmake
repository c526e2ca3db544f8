# Installs libmyelin.so (the core), libmyelin_app.so (the application layer), their public
# headers and a CMake package, so that another project can find_package(myelin) and link
# myelin::myelin (and myelin::app).
include(CMakePackageConfigHelpers)

install(TARGETS myelin myelin_app EXPORT myelinTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/myelin DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET myelin_cli)
  install(TARGETS myelin_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

set(MYELIN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/myelin)
install(EXPORT myelinTargets NAMESPACE myelin:: DESTINATION ${MYELIN_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/myelinConfig.cmake.in
  ${PROJECT_BINARY_DIR}/myelinConfig.cmake INSTALL_DESTINATION ${MYELIN_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/myelinConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/myelinConfig.cmake ${PROJECT_BINARY_DIR}/myelinConfigVersion.cmake
  DESTINATION ${MYELIN_CMAKE_DIR})
